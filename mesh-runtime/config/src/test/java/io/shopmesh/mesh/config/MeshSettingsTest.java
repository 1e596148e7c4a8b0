package io.shopmesh.mesh.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MeshSettingsTest {

  @Test
  void allowAnyIsIstiosDefault() {
    assertThat(MeshSettings.parse(null).allowAny()).isTrue();
    assertThat(MeshSettings.parse("").allowAny()).isTrue();
    assertThat(MeshSettings.parse("accessLogFile: /dev/stdout\n").allowAny()).isTrue();
  }

  @Test
  void readsTheOutboundTrafficPolicyOfIstiosMeshConfig() {
    MeshSettings m =
        MeshSettings.parse(
            "accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n");
    assertThat(m.outboundTrafficPolicy())
        .isEqualTo(MeshSettings.OutboundTrafficPolicy.REGISTRY_ONLY);
    assertThat(m.allowAny()).isFalse();
    assertThat(MeshSettings.parse("outboundTrafficPolicy: {mode: ALLOW_ANY}").allowAny()).isTrue();
  }

  @Test
  void aModeTheMeshDoesNotBuildIsRefused() {
    assertThatThrownBy(
            () -> MeshSettings.parse("outboundTrafficPolicy:\n  mode: ALLOW_ANY_DYNAMIC_DNS\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ALLOW_ANY_DYNAMIC_DNS");
  }
}
