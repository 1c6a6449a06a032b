"""LocalStack Lambda runtime executor: one `node` child process per execution environment.

LocalStack's side of the protocol (``localstack.services.lambda_.invocation``) stays as it
is: the environment reports ready (or an init error) to the executor endpoint, LocalStack
POSTs each invocation to the environment's ``/invoke``, and the environment POSTs logs and
the response (or error) back. ``bootstrap.mjs`` is the environment: it loads the handler
from the unzipped code and serves ``/invoke`` on 127.0.0.1.

Configuration (environment of the LocalStack process):
  SLUICE_LAMBDA_BOOTSTRAP  path of ``bootstrap.mjs`` (the launcher points it at the repo's copy)
  SLUICE_LAMBDA_NODE       the node binary (default: ``node`` on PATH)
  SLUICE_LAMBDA_NODE_PATH  NODE_PATH of the functions (bundles that keep ``@aws-sdk/*``
                           external find it there, as the Lambda runtime provides it)
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)
from localstack.utils.net import get_free_tcp_port

LOG = logging.getLogger(__name__)
HOST = "127.0.0.1"
MAX_LOG_CHARS = 1_000_000


def _bootstrap() -> str:
    path = os.environ.get("SLUICE_LAMBDA_BOOTSTRAP", "")
    if not path or not Path(path).is_file():
        raise LambdaRuntimeException("SLUICE_LAMBDA_BOOTSTRAP must name the executor's bootstrap.mjs")
    return path


def _node() -> str:
    return os.environ.get("SLUICE_LAMBDA_NODE") or shutil.which("node") or "node"


class NodeRuntimeExecutor(RuntimeExecutor):
    """An execution environment as a local ``node`` process (Node.js runtimes only)."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.port = get_free_tcp_port()
        self.executor_endpoint = ExecutorEndpoint(id, container_address=HOST, container_port=self.port)
        self.process: subprocess.Popen | None = None
        self._logs: list[str] = []
        self._log_chars = 0

    def start(self, env_vars: dict[str, str]) -> None:
        runtime = self.function_version.config.runtime or ""
        if not runtime.startswith("nodejs"):
            raise LambdaRuntimeException(
                f"the sluice-node executor runs Node.js functions only, not {runtime or 'container images'}"
            )
        code = self.function_version.config.code.get_unzipped_code_location()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(code)),
            **{k: str(v) for k, v in env_vars.items()},
            # the environment's own view of itself (in a container these are fixed paths)
            "LAMBDA_TASK_ROOT": str(code),
            "SLUICE_EXECUTOR_HOST": HOST,
            "SLUICE_EXECUTOR_PORT": str(self.port),
        }
        if os.environ.get("SLUICE_LAMBDA_NODE_PATH"):
            env["NODE_PATH"] = os.environ["SLUICE_LAMBDA_NODE_PATH"]
        self.executor_endpoint.start()
        self.process = subprocess.Popen(
            [_node(), _bootstrap()],
            cwd=str(code),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump, name=f"lambda-{self.id}-output", daemon=True).start()
        self.executor_endpoint.wait_for_startup()

    def _pump(self) -> None:
        assert self.process and self.process.stdout
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace")
            LOG.debug("[%s] %s", self.id, line.rstrip())
            if self._log_chars < MAX_LOG_CHARS:
                self._logs.append(line)
                self._log_chars += len(line)

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        try:
            self.executor_endpoint.shutdown()
        except Exception as e:  # the endpoint may never have started
            LOG.debug("stopping executor endpoint %s: %s", self.id, e)

    def get_address(self) -> str:
        return HOST

    def get_endpoint_from_executor(self) -> str:
        return HOST

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{HOST}:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        return "".join(self._logs)

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        if shutil.which(_node()) is None:
            LOG.warning("sluice-node executor: %s not found; set SLUICE_LAMBDA_NODE", _node())
            return False
        return True


class NodeRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "sluice-node"

    def load(self, *args, **kwargs):
        return NodeRuntimeExecutor
