package io.shopmesh.mesh.wire;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NodeIdTest {

  @Test
  void sidecarRoundTrips() {
    NodeId id = new NodeId(NodeId.Type.SIDECAR, "10.0.0.1", "frontend-abc-x1y2z", "default");
    assertThat(id.format())
        .isEqualTo("sidecar~10.0.0.1~frontend-abc-x1y2z.default~default.svc.cluster.local");
    assertThat(NodeId.parse(id.format())).isEqualTo(id);
    assertThat(NodeId.hasPodNamespace(id.format())).isTrue();
  }

  @Test
  void routerRoundTrips() {
    String s =
        NodeId.format(
            NodeId.Type.ROUTER, "127.0.1.1", "istio-ingressgateway-5c9d-abcde", "istio-system");
    assertThat(s)
        .isEqualTo(
            "router~127.0.1.1~istio-ingressgateway-5c9d-abcde.istio-system~istio-system.svc.cluster.local");
    NodeId id = NodeId.parse(s);
    assertThat(id.type()).isEqualTo(NodeId.Type.ROUTER);
    assertThat(id.podName()).isEqualTo("istio-ingressgateway-5c9d-abcde");
    assertThat(id.namespace()).isEqualTo("istio-system");
  }

  @Test
  void podNamesWithDotsKeepAllButTheLastPart() {
    NodeId id = NodeId.parse("sidecar~10.0.0.2~a.b.ns~ns.svc.cluster.local");
    assertThat(id.podName()).isEqualTo("a.b");
    assertThat(id.namespace()).isEqualTo("ns");
  }

  @Test
  void partialIdsFallBack() {
    NodeId id = NodeId.parse("weird");
    assertThat(id.type()).isEqualTo(NodeId.Type.SIDECAR);
    assertThat(id.ip()).isEmpty();
    assertThat(id.podName()).isEmpty();
    assertThat(id.namespace()).isEqualTo(NodeId.DEFAULT_NAMESPACE);
    NodeId noNs = NodeId.parse("sidecar~1.2.3.4~pod");
    assertThat(noNs.podName()).isEqualTo("pod");
    assertThat(noNs.namespace()).isEqualTo("default");
    assertThat(NodeId.hasPodNamespace("sidecar~1.2.3.4~pod")).isFalse();
    assertThat(NodeId.parse(null).ip()).isEmpty();
  }

  @Test
  void dnsDomain() {
    assertThat(NodeId.dnsDomain("shop")).isEqualTo("shop.svc.cluster.local");
  }
}
