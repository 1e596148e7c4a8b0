package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PodNamesTest {

  @Test
  void templateHashIsStableAndUsesKubernetesAlphabet() {
    String h = PodNames.templateHash("frontend{app=frontend}");
    assertThat(h).isEqualTo(PodNames.templateHash("frontend{app=frontend}"));
    assertThat(h).hasSizeBetween(1, 10).matches("[bcdfghjklmnpqrstvwxz2456789]+");
    // decimal digits map onto 4-9 and b,c,d,f exactly as Kubernetes' SafeEncodeString does
    assertThat(PodNames.safeEncode("0123456789")).isEqualTo("456789bcdf");
    assertThat(PodNames.templateHash("other")).isNotEqualTo(h);
  }

  @Test
  void suffixIsFiveSafeCharacters() {
    Random r = new Random(1);
    for (int i = 0; i < 100; i++) {
      assertThat(PodNames.suffix(r)).hasSize(5).matches("[bcdfghjklmnpqrstvwxz2456789]{5}");
    }
  }

  @Test
  void podNameLooksLikeKubernetes() {
    assertThat(PodNames.podName("product-service-v1", "7d4b9c8f6d", "x2k9p"))
        .isEqualTo("product-service-v1-7d4b9c8f6d-x2k9p");
  }
}
