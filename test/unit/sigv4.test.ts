import { describe, expect, it } from 'vitest';
import { createSigV4Signer } from '../../lib/storage/aws';

describe('SigV4 request signing for the HTTP transport', () => {
  it('signs with the AWS SDK signer: scope, signed headers, payload hash', async () => {
    const signer = createSigV4Signer({
      region: 'eu-west-1',
      service: 'lambda',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    });
    const body = JSON.stringify({ records: [{ value: 'x' }] });
    const url = new URL('https://abc.lambda-url.eu-west-1.on.aws/v1/topics/orders/records?x=1');
    const headers = await signer.sign({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    // a different body gives a different signature
    const other = await signer.sign({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(other.authorization).not.toBe(headers.authorization);
  });
});
