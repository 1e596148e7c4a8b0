package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ProxyMainTest {
  @Test
  void flagsBecomeOptionsAndIstioNodeIdentity() {
    ProxyMain m = new ProxyMain();
    new CommandLine(m)
        .parseArgs(
            "--role",
            "router",
            "--pod-name",
            "istio-ingressgateway-7c9f-x2x",
            "--namespace",
            "istio-system",
            "--pod-ip",
            "127.0.1.100",
            "--labels",
            "istio=ingressgateway,app=istio-ingressgateway",
            "--workload-name",
            "istio-ingressgateway",
            "--ports",
            "http:8080,8443",
            "--istiod",
            "127.0.0.1:15010",
            "--bind",
            "127.0.1.100",
            "--local-port-offset",
            "10000",
            "--interception",
            "none",
            "--hosts-file",
            "/tmp/hosts",
            "--certs-root",
            "/tmp/certs",
            "--listener-bind",
            "8080=127.0.0.1:8080,8443=127.0.0.1:8443",
            "--access-log",
            "-");
    ProxyOptions o = m.toOptions();
    assertThat(o.role).isEqualTo(ProxyOptions.Role.ROUTER);
    assertThat(o.nodeId())
        .isEqualTo(
            "router~127.0.1.100~istio-ingressgateway-7c9f-x2x.istio-system~istio-system.svc.cluster.local");
    assertThat(o.labels).containsEntry("istio", "ingressgateway");
    assertThat(o.ports).containsExactly(8080, 8443);
    assertThat(o.listenerBind)
        .containsEntry(8080, "127.0.0.1:8080")
        .containsEntry(8443, "127.0.0.1:8443");
    assertThat(o.localPortOffset).isEqualTo(10000);
    assertThat(o.interceptionNone).isTrue();
    assertThat(o.hostsFile).isEqualTo(Path.of("/tmp/hosts"));
    assertThat(o.adminPort).isEqualTo(15000);
    NodeInfo n = new NodeInfo(o);
    assertThat(n.node().getCluster()).isEqualTo("istio-ingressgateway.istio-system");
    assertThat(n.node().getMetadata().getFieldsOrThrow("POD_PORTS").getStringValue())
        .isEqualTo(
            "[{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},"
                + "{\"containerPort\":8443,\"protocol\":\"TCP\"}]");
  }

  @Test
  void workloadNameIsDerivedFromThePodName() {
    assertThat(ProxyOptions.deriveWorkload("product-service-v1-7c9d8b6f5-x2k4p"))
        .isEqualTo("product-service-v1");
  }
}
