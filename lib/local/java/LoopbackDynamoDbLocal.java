import java.lang.reflect.Field;
import java.util.Arrays;
import java.util.List;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local bound to 127.0.0.1 (the jar binds every interface and has no option for
 * it). Two ways in: `main` (launched as a single-file program by lib/local/dynamodb-local.ts)
 * and `premain`, as the `-javaagent` LocalStack always passes to the DynamoDB Local it
 * starts (lib/local/localstack.ts builds this class into that agent jar): the agent serves
 * with the JVM's own arguments and never returns, so the jar's own main never binds.
 */
public class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field f = DynamoDBProxyServer.class.getDeclaredField("server");
    f.setAccessible(true);
    Server server = (Server) f.get(proxy);
    for (Connector c : server.getConnectors()) ((ServerConnector) c).setHost("127.0.0.1");
    proxy.start();
    System.out.println("DynamoDB Local listening on 127.0.0.1");
    proxy.join();
  }

  public static void premain(String agentArgs) throws Exception {
    List<String> argv =
        ProcessHandle.current().info().arguments().map(Arrays::asList).orElseThrow(
            () -> new IllegalStateException("cannot read the JVM's arguments"));
    int jar = argv.indexOf("-jar");
    if (jar < 0) throw new IllegalStateException("expected `java ... -jar DynamoDBLocal.jar <options>`");
    main(argv.subList(jar + 2, argv.size()).toArray(new String[0]));
    System.exit(0);
  }
}
