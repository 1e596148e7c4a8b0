package io.shopmesh.mesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ExportToTest {

  @Test
  void noExportToOrStarIsEverywhere() {
    assertThat(ExportTo.scopes(List.of(), "shop")).containsExactly("*");
    assertThat(ExportTo.scopes(List.of("a", "*"), "shop")).containsExactly("*");
  }

  @Test
  void dotIsTheOwnNamespace() {
    assertThat(ExportTo.scopes(List.of("b", ".", "a"), "shop")).containsExactly("a", "b", "shop");
    assertThat(ExportTo.namespaces(List.of("b", ".", "b"), "shop")).containsExactly("b", "shop");
  }

  @Test
  void annotationIsCommaSeparated() {
    assertThat(ExportTo.ofAnnotation(" ., istio-system ,")).containsExactly(".", "istio-system");
    assertThat(ExportTo.ofAnnotation(null)).isEmpty();
  }
}
