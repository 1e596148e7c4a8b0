package io.shopmesh.mesh.wire;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClusterNamesTest {

  @Test
  void outboundRoundTrips() {
    String name = ClusterNames.outbound(8080, "v1", "product-service.default.svc.cluster.local");
    assertThat(name).isEqualTo("outbound|8080|v1|product-service.default.svc.cluster.local");
    ClusterNames.Parsed p = ClusterNames.parse(name);
    assertThat(p)
        .isEqualTo(
            new ClusterNames.Parsed(
                "outbound", 8080, "v1", "product-service.default.svc.cluster.local"));
    assertThat(p.outbound()).isTrue();
    assertThat(p.inbound()).isFalse();
  }

  @Test
  void outboundWithoutSubsetHasEmptyField() {
    String name = ClusterNames.outbound(80, null, "httpbin.org");
    assertThat(name).isEqualTo("outbound|80||httpbin.org");
    assertThat(ClusterNames.parse(name).subset()).isNull();
    assertThat(ClusterNames.parse(name).host()).isEqualTo("httpbin.org");
  }

  @Test
  void inboundRoundTrips() {
    assertThat(ClusterNames.inbound(9080)).isEqualTo("inbound|9080||");
    ClusterNames.Parsed p = ClusterNames.parse(ClusterNames.inbound(9080));
    assertThat(p.inbound()).isTrue();
    assertThat(p.port()).isEqualTo(9080);
    assertThat(p.subset()).isNull();
    assertThat(p.host()).isEmpty();
  }

  @Test
  void specialClustersAndGarbageDoNotParse() {
    assertThat(ClusterNames.BLACK_HOLE).isEqualTo("BlackHoleCluster");
    assertThat(ClusterNames.PASSTHROUGH).isEqualTo("PassthroughCluster");
    assertThat(ClusterNames.INBOUND_PASSTHROUGH).isEqualTo("InboundPassthroughCluster");
    assertThat(ClusterNames.parse(ClusterNames.PASSTHROUGH)).isNull();
    assertThat(ClusterNames.parse("outbound|http|v1|h")).isNull();
    assertThat(ClusterNames.parse("outbound|80|v1")).isNull();
    assertThat(ClusterNames.parse(null)).isNull();
  }
}
