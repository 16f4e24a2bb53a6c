"""Google's Pub/Sub and Firestore emulators, and the Pub/Sub wiring the manifest declares.

The emulators are the official Google Cloud CLI components (ENGINEERING.md, "Local stack"):
they behave like production for what the backend uses (push subscriptions to a local URL,
dead-letter and retry policies, Firestore transactions and queries). They run directly from
the SDK's component directories, without a gcloud account or `gcloud beta emulators ...`,
with JVM options for a fast start; the stack runs each in its own process group.

`setup_pubsub()` creates, with the real google-cloud-pubsub client pointed at the emulator,
what Terraform creates in production for every pubsub-kind function in the manifest:

* the function's topic and its dead-letter topic;
* a push subscription named after the function, on its topic, pushing to the function's
  local URL, with the manifest's ack deadline, a dead-letter policy (dead-letter topic,
  `max_delivery_attempts`) and an exponential retry policy (1 s .. 10 s locally);
* a pull subscription `<dead-letter-topic>-inspect` on each dead-letter topic, so dead
  letters can be looked at and replayed.

It is idempotent: what exists already is kept (a push subscription's endpoint is updated to
the current port). Verified with pubsub-emulator 0.8.20 (Cloud SDK 528): pushes to a local
HTTP endpoint, retries a push that answers non-2xx, and after `max_delivery_attempts`
forwards the message to the dead-letter topic (attributes
`CloudPubSubDeadLetterSourceDeliveryCount` etc. set). Two differences from production: the
emulator's redelivery pace is its own (about 1 s, then about 3 s between attempts, whatever
the retry policy says), and its push body has no `deliveryAttempt` field. Production also
needs IAM grants for the Pub/Sub service agent to dead-letter; that is Terraform's job.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = "lederappen-local"
KNOWN_SDK_ROOTS = (
    "/usr/lib/google-cloud-sdk",
    "/usr/share/google-cloud-sdk",
    "/opt/google-cloud-sdk",
    "~/google-cloud-sdk",
)
#: Faster JVM start for short-lived local emulators (client compiler only, small serial GC).
#: The emulators' heap: 1 GiB is plenty for the tests; a benchmark that stores hundreds of
#: thousands of documents raises it (EMULATOR_HEAP=6g) so the JVM does not collect itself
#: to a standstill.
JVM_OPTS = (
    f"-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -Xmx{os.environ.get('EMULATOR_HEAP', '1g')}"
)


class EmulatorError(RuntimeError):
    """An emulator is missing, failed to start, or rejected the setup; the message says why."""


def find_sdk_root() -> Path:
    """The Google Cloud CLI installation root holding the emulator components."""
    roots: list[Path] = []
    if os.environ.get("CLOUDSDK_ROOT_DIR"):
        roots.append(Path(os.environ["CLOUDSDK_ROOT_DIR"]))
    roots += [Path(p).expanduser() for p in KNOWN_SDK_ROOTS]
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.append(Path(gcloud).resolve().parents[1])
    for root in roots:
        if (root / "platform").is_dir():
            return root
    if gcloud:  # slow (starts gcloud's own Python), so only when the usual places fail
        try:
            out = subprocess.run(
                [gcloud, "info", "--format=value(installation.sdk_root)"],
                check=False,
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
            if out and (Path(out) / "platform").is_dir():
                return Path(out)
        except (OSError, subprocess.SubprocessError):
            pass
    raise EmulatorError(
        "the Google Cloud CLI was not found (looked in "
        + ", ".join(KNOWN_SDK_ROOTS)
        + "). Install it (https://cloud.google.com/sdk/docs/install, or apt-get install "
        "google-cloud-cli) with the emulator components: gcloud components install "
        "pubsub-emulator cloud-firestore-emulator (apt: google-cloud-cli-pubsub-emulator "
        "google-cloud-cli-firestore-emulator)."
    )


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise EmulatorError(
            "Java was not found; the emulators need Java 17+: apt-get install "
            "openjdk-17-jre-headless"
        )
    return java


def pubsub_command(
    port: int, host: str = "127.0.0.1", sdk_root: Path | None = None
) -> tuple[list[str], dict]:
    """argv and extra environment that start the Pub/Sub emulator on host:port."""
    root = sdk_root or find_sdk_root()
    script = root / "platform" / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
    if not script.is_file():
        raise EmulatorError(
            f"the Pub/Sub emulator is not installed in {root}: gcloud components install "
            "pubsub-emulator (or apt-get install google-cloud-cli-pubsub-emulator)"
        )
    java = _java()
    env = {"JAVA_HOME": str(Path(java).resolve().parents[1]), "JAVA_OPTS": JVM_OPTS}
    return [str(script), f"--host={host}", f"--port={port}"], env


def firestore_command(
    port: int, host: str = "127.0.0.1", sdk_root: Path | None = None
) -> tuple[list[str], dict]:
    """argv and extra environment that start the Firestore emulator on host:port.

    The component's launch script runs the JVM as its child (no `exec`), so where the script
    names its main class the JVM is started directly, as the script would: it is then this
    stack's own child (clean reaping, JVM options without JAVA_TOOL_OPTIONS). Otherwise the
    script runs, with the options in JAVA_TOOL_OPTIONS.
    """
    root = sdk_root or find_sdk_root()
    base = root / "platform" / "cloud-firestore-emulator"
    script = base / "cloud_firestore_emulator"
    jar = base / "cloud-firestore-emulator.jar"
    if not script.is_file() or not jar.is_file():
        raise EmulatorError(
            f"the Firestore emulator is not installed in {root}: gcloud components install "
            "cloud-firestore-emulator (or apt-get install google-cloud-cli-firestore-emulator)"
        )
    java = _java()
    args = ["start", f"--host={host}", f"--port={port}", f"--project_id={PROJECT}"]
    main_class = re.search(r'-cp\s+"\$\{FIRESTORE_JAR\}"\s+([\w.$]+)', script.read_text())
    if main_class:
        return [
            java,
            "-Duser.language=en",
            *JVM_OPTS.split(),
            "-cp",
            str(jar),
            main_class.group(1),
            *args,
        ], {}
    return [str(script), *args], {"JAVA": java, "JAVA_TOOL_OPTIONS": JVM_OPTS}


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when `url` answers HTTP 200 (the emulators answer "Ok" on their root)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local: no proxy
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


# -- Pub/Sub wiring ---------------------------------------------------------------------------


@dataclass
class PubsubSetup:
    """What setup_pubsub created or found (full resource names)."""

    topics: list[str] = field(default_factory=list)
    push_subscriptions: list[str] = field(default_factory=list)
    inspect_subscriptions: list[str] = field(default_factory=list)


def clients(emulator_host: str):
    """Publisher and subscriber admin clients talking to the emulator at host:port.

    The channel is given explicitly (what PUBSUB_EMULATOR_HOST makes the library do), so
    this process's environment is left alone.
    """
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.pubsub_v1 import PublisherClient, SubscriberClient
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    options = [("grpc.enable_http_proxy", 0)]  # the emulator is local: never via a proxy
    pub = PublisherClient(
        transport=PublisherGrpcTransport(
            channel=grpc.insecure_channel(emulator_host, options=options),
            credentials=AnonymousCredentials(),
        )
    )
    sub = SubscriberClient(
        transport=SubscriberGrpcTransport(
            channel=grpc.insecure_channel(emulator_host, options=options),
            credentials=AnonymousCredentials(),
        )
    )
    return pub, sub


def inspect_subscription_name(dead_letter_topic: str) -> str:
    return f"{dead_letter_topic}-inspect"


def setup_pubsub(
    emulator_host: str,
    functions: Iterable,
    push_endpoints: Mapping[str, str],
    project: str = PROJECT,
    min_backoff_seconds: float = 1.0,
    max_backoff_seconds: float = 10.0,
    timeout: float = 10.0,
) -> PubsubSetup:
    """Creates topics and subscriptions for the pubsub-kind `functions` (manifest Functions).

    `push_endpoints` maps a function name to the URL its push subscription targets.
    """
    from google.api_core import exceptions as gexc
    from google.protobuf import duration_pb2

    def duration(seconds: float):
        whole = int(seconds)
        return duration_pb2.Duration(seconds=whole, nanos=round((seconds - whole) * 1e9))

    pub, sub = clients(emulator_host)
    done = PubsubSetup()
    try:
        for fn in functions:
            if fn.kind != "pubsub":
                continue
            topic = pub.topic_path(project, fn.topic)
            dead_letter = pub.topic_path(project, fn.dead_letter_topic)
            for name in (topic, dead_letter):
                try:
                    pub.create_topic(name=name, timeout=timeout)
                except gexc.AlreadyExists:
                    pass
                if name not in done.topics:
                    done.topics.append(name)
            endpoint = push_endpoints[fn.name]
            push = sub.subscription_path(project, fn.name)
            try:
                sub.create_subscription(
                    request={
                        "name": push,
                        "topic": topic,
                        "push_config": {"push_endpoint": endpoint},
                        "ack_deadline_seconds": fn.ack_deadline_seconds,
                        "dead_letter_policy": {
                            "dead_letter_topic": dead_letter,
                            "max_delivery_attempts": fn.max_delivery_attempts,
                        },
                        "retry_policy": {
                            "minimum_backoff": duration(min_backoff_seconds),
                            "maximum_backoff": duration(max_backoff_seconds),
                        },
                    },
                    timeout=timeout,
                )
            except gexc.AlreadyExists:
                sub.modify_push_config(
                    request={"subscription": push, "push_config": {"push_endpoint": endpoint}},
                    timeout=timeout,
                )
            done.push_subscriptions.append(push)
            inspect = sub.subscription_path(
                project, inspect_subscription_name(fn.dead_letter_topic)
            )
            try:
                sub.create_subscription(
                    request={"name": inspect, "topic": dead_letter, "ack_deadline_seconds": 60},
                    timeout=timeout,
                )
            except gexc.AlreadyExists:
                pass
            if inspect not in done.inspect_subscriptions:
                done.inspect_subscriptions.append(inspect)
    finally:
        pub.transport.close()
        sub.transport.close()
    return done


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Polls `predicate` until it is true or `timeout` passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
