package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettingsTLSmode;
import io.shopmesh.mesh.config.Protocol;
import java.util.List;
import org.junit.jupiter.api.Test;

/** DestinationRule tls.mode ISTIO_MUTUAL into Istio's UpstreamTlsContext (buildIstioMutualTLS). */
class IstioMutualTlsTest {

  private static final String CLUSTER =
      "outbound|8080|v1|product-service.default.svc.cluster.local";

  private static UpstreamTlsContext translate(ClientTLSSettings tls) throws Exception {
    Cluster.Builder c = Cluster.newBuilder().setName(CLUSTER);
    ClusterBuilder.applyTls(c, tls, Protocol.HTTP, CLUSTER);
    assertThat(c.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
    return c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
  }

  @Test
  void workloadCertificateRootAlpnAndSniAsIstio() throws Exception {
    ClientTLSSettings tls = new ClientTLSSettings();
    tls.setMode(ClientTLSSettingsTLSmode.ISTIO_MUTUAL);
    UpstreamTlsContext u = translate(tls);
    CommonTlsContext ctx = u.getCommonTlsContext();
    assertThat(u.getSni())
        .isEqualTo("outbound_.8080_.v1_.product-service.default.svc.cluster.local");
    assertThat(ctx.getAlpnProtocolsList()).containsExactly("istio-peer-exchange", "istio");
    assertThat(ctx.getTlsCertificateSdsSecretConfigsList())
        .extracting(s -> s.getName())
        .containsExactly("default");
    assertThat(ctx.getTlsCertificateSdsSecretConfigs(0).getSdsConfig().hasAds()).isTrue();
    assertThat(ctx.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName())
        .isEqualTo("ROOTCA");
    assertThat(
            ctx.getCombinedValidationContext()
                .getDefaultValidationContext()
                .getMatchSubjectAltNamesList())
        .isEmpty();
  }

  @Test
  void subjectAltNamesAndSniFromTheRule() throws Exception {
    ClientTLSSettings tls = new ClientTLSSettings();
    tls.setMode(ClientTLSSettingsTLSmode.ISTIO_MUTUAL);
    tls.setSni("product.example");
    tls.setSubjectAltNames(List.of("spiffe://cluster.local/ns/default/sa/shop-product"));
    UpstreamTlsContext u = translate(tls);
    assertThat(u.getSni()).isEqualTo("product.example");
    assertThat(
            u.getCommonTlsContext()
                .getCombinedValidationContext()
                .getDefaultValidationContext()
                .getMatchSubjectAltNamesList())
        .extracting(m -> m.getExact())
        .containsExactly("spiffe://cluster.local/ns/default/sa/shop-product");
  }

  @Test
  void disableLeavesPlainText() {
    ClientTLSSettings tls = new ClientTLSSettings();
    tls.setMode(ClientTLSSettingsTLSmode.DISABLE);
    Cluster.Builder c = Cluster.newBuilder().setName(CLUSTER);
    ClusterBuilder.applyTls(c, tls, Protocol.HTTP, CLUSTER);
    assertThat(c.hasTransportSocket()).isFalse();
  }
}
