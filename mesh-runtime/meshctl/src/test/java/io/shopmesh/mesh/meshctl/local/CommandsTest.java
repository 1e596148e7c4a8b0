package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.meshctl.local.Commands.ProcessSpec;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Pod;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandsTest {

  final MeshPlan plan = PlannerTest.walkthroughPlan();
  final Commands.Layout layout =
      new Commands.Layout(
          Path.of("/repo"),
          Path.of("/repo/.mesh"),
          "/jdk/bin/java",
          "/repo/mesh-runtime/meshctl/target/meshctl.jar",
          Path.of("/repo/mesh-runtime/meshctl/target/meshctl-watchdog.jar"),
          4242,
          Path.of("/repo/manifests"),
          List.of(),
          null);
  final Commands commands = new Commands(plan, layout);

  static String flag(List<String> argv, String name) {
    int i = argv.indexOf(name);
    assertThat(i).as(name).isGreaterThanOrEqualTo(0);
    return argv.get(i + 1);
  }

  @Test
  void istiodWatchesTheRealConfigDir() {
    ProcessSpec s = commands.istiod();
    assertThat(s.argv()).contains(Commands.ISTIOD_MAIN);
    assertThat(flag(s.argv(), "--config-dir")).isEqualTo("/repo/manifests");
    assertThat(flag(s.argv(), "--bind")).isEqualTo("127.0.0.1");
    assertThat(flag(s.argv(), "--xds-port")).isEqualTo("15010");
    assertThat(flag(s.argv(), "--http-port")).isEqualTo("15014");
    assertThat(flag(s.argv(), "--apply-token-file")).isEqualTo("/repo/.mesh/istiod-apply-token");
  }

  @Test
  void istiodReadsThePlannedRegistryAndExitsOnOutOfMemory() {
    ProcessSpec s = commands.istiod();
    assertThat(flag(s.argv(), "--registry-file")).endsWith("registry.json");
    assertThat(flag(s.argv(), "--ca-dir")).endsWith("cacerts"); // the root survives restarts
    assertThat(s.argv()).contains("-XX:+ExitOnOutOfMemoryError", "-Xmx256m");
  }

  @Test
  void everyJvmIsSmallAndWatched() {
    ProcessSpec s = commands.istiod();
    assertThat(s.argv())
        .contains(
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-javaagent:/repo/mesh-runtime/meshctl/target/meshctl-watchdog.jar=4242");
    assertThat(s.argv().get(0)).isEqualTo("/jdk/bin/java");
  }

  @Test
  void sidecarFlagsFollowTheContract() {
    Pod frontend =
        plan.pods().stream().filter(p -> p.workload().equals("frontend")).findFirst().orElseThrow();
    List<String> argv = commands.proxy(frontend).argv();
    assertThat(argv).contains(Commands.PROXY_MAIN);
    assertThat(flag(argv, "--role")).isEqualTo("sidecar");
    assertThat(flag(argv, "--pod-name")).isEqualTo(frontend.name());
    assertThat(flag(argv, "--namespace")).isEqualTo("default");
    assertThat(flag(argv, "--pod-ip")).isEqualTo(frontend.ip());
    assertThat(flag(argv, "--bind")).isEqualTo(frontend.ip());
    assertThat(flag(argv, "--labels"))
        .startsWith("app=frontend,pod-template-hash=")
        .endsWith(",version=v1");
    assertThat(flag(argv, "--workload-name")).isEqualTo("frontend");
    assertThat(flag(argv, "--ports")).isEqualTo("80");
    assertThat(flag(argv, "--istiod")).isEqualTo("127.0.0.1:15010");
    assertThat(flag(argv, "--local-port-offset")).isEqualTo("10000");
    assertThat(flag(argv, "--interception")).isEqualTo("none");
    assertThat(flag(argv, "--hosts-file")).isEqualTo("/repo/.mesh/hosts");
    assertThat(flag(argv, "--certs-root")).isEqualTo("/repo/.mesh/certs");
    assertThat(flag(argv, "--token-file"))
        .isEqualTo("/repo/.mesh/pods/" + frontend.name() + "/istio-token");
    assertThat(argv).doesNotContain("--listener-bind");
  }

  @Test
  void gatewayIsARouterPublishedOnLocalhost() {
    List<String> argv = commands.proxy(plan.gateway()).argv();
    assertThat(flag(argv, "--role")).isEqualTo("router");
    assertThat(flag(argv, "--namespace")).isEqualTo("istio-system");
    assertThat(flag(argv, "--workload-name")).isEqualTo("istio-ingressgateway");
    assertThat(flag(argv, "--labels")).isEqualTo("app=istio-ingressgateway,istio=ingressgateway");
    // ports 80 and 443 of the ingress Service, published on the host as the walkthrough uses them
    assertThat(flag(argv, "--listener-bind")).isEqualTo("8080=127.0.0.1:8080,8443=127.0.0.1:8443");
  }

  @Test
  void appsGetTheirPodEnvironment() {
    Pod frontend =
        plan.pods().stream().filter(p -> p.workload().equals("frontend")).findFirst().orElseThrow();
    ProcessSpec app = commands.app(frontend, frontend.containers().get(0));
    assertThat(app.argv())
        .containsSequence("-jar", "/repo/frontend/target/quarkus-app/quarkus-run.jar");
    assertThat(app.env())
        .containsEntry("POD_NAME", frontend.name())
        .containsEntry("POD_NAMESPACE", "default")
        .containsEntry("QUARKUS_HTTP_HOST", frontend.ip())
        .containsEntry("QUARKUS_HTTP_PORT", "10080")
        .containsEntry("QUARKUS_REST_CLIENT_PROXY_ADDRESS", frontend.ip() + ":15001");
    assertThat(commands.pod(frontend))
        .extracting(ProcessSpec::container)
        .containsExactly("istio-proxy", "frontend");
  }

  @Test
  void paymentProviderIsOutsideTheMeshAndNamedByTheHostsFile() {
    Pod provider =
        plan.pods().stream()
            .filter(p -> p.kind() == MeshPlan.Kind.EXTERNAL)
            .findFirst()
            .orElseThrow();
    List<ProcessSpec> specs = commands.pod(provider);
    assertThat(specs).hasSize(1);
    assertThat(specs.get(0).env())
        .containsEntry("QUARKUS_HTTP_PORT", "10080")
        .containsEntry("QUARKUS_HTTP_SSL_PORT", "10443")
        .doesNotContainKey("QUARKUS_REST_CLIENT_PROXY_ADDRESS");
    assertThat(commands.hostsFile()).contains("127.0.1.2 api.payment-provider.com");
  }

  @Test
  void logsArePerPodAndContainer() {
    assertThat(layout.logFile("frontend-abc-12345", "istio-proxy"))
        .isEqualTo(Path.of("/repo/.mesh/logs/frontend-abc-12345/istio-proxy.log"));
  }
}
