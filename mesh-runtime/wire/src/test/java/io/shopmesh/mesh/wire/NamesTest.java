package io.shopmesh.mesh.wire;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NamesTest {

  @Test
  void listenerNamesRoundTrip() {
    assertThat(ListenerNames.forPort(8080)).isEqualTo("0.0.0.0_8080");
    assertThat(ListenerNames.port(ListenerNames.forPort(8080))).isEqualTo(8080);
    assertThat(ListenerNames.port(ListenerNames.VIRTUAL_OUTBOUND)).isEqualTo(-1);
    assertThat(ListenerNames.port("0.0.0.0_x")).isEqualTo(-1);
    assertThat(ListenerNames.VIRTUAL_OUTBOUND).isEqualTo("virtualOutbound");
    assertThat(ListenerNames.VIRTUAL_INBOUND).isEqualTo("virtualInbound");
    assertThat(ListenerNames.outboundStatPrefix(80)).isEqualTo("outbound_0.0.0.0_80");
    assertThat(ListenerNames.inboundStatPrefix(9080)).isEqualTo("inbound_0.0.0.0_9080");
    assertThat(ListenerNames.inboundHttpRoute(9080)).isEqualTo("inbound|http|9080");
  }

  @Test
  void routeNamesRoundTrip() {
    assertThat(RouteNames.sidecar(8080)).isEqualTo("8080");
    assertThat(RouteNames.gateway(8080)).isEqualTo("http.8080");
    assertThat(RouteNames.port(RouteNames.sidecar(8080))).isEqualTo(8080);
    assertThat(RouteNames.port(RouteNames.gateway(443))).isEqualTo(443);
    assertThat(RouteNames.isGateway(RouteNames.gateway(80))).isTrue();
    assertThat(RouteNames.isGateway(RouteNames.sidecar(80))).isFalse();
    assertThat(RouteNames.port("http.x")).isEqualTo(-1);
    assertThat(RouteNames.port(null)).isEqualTo(-1);
  }

  @Test
  void istioConfigPath() {
    assertThat(IstioMetadata.configPath("virtual-service", "default", "product"))
        .isEqualTo("/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/product");
  }
}
