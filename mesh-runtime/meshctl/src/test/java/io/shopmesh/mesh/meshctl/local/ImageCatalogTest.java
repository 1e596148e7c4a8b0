package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ImageCatalogTest {

  @Test
  void mapsTheWalkthroughsImagesToModules() {
    assertThat(ImageCatalog.moduleFor("example/product-service:v1")).contains("product-v1");
    assertThat(ImageCatalog.moduleFor("example/product-service:v2")).contains("product-v2");
    assertThat(ImageCatalog.moduleFor("example/frontend:latest")).contains("frontend");
    assertThat(ImageCatalog.moduleFor("example/frontend")).contains("frontend");
    assertThat(ImageCatalog.moduleFor("example/order-service:latest")).contains("order-service");
    assertThat(ImageCatalog.moduleFor("example/payment-provider:1.0")).contains("payment-provider");
  }

  @Test
  void ignoresARegistryPrefix() {
    assertThat(ImageCatalog.moduleFor("localhost:5000/example/product-service:v2"))
        .contains("product-v2");
    assertThat(ImageCatalog.moduleFor("docker.io/example/frontend:latest")).contains("frontend");
  }

  @Test
  void unknownImagesAreAClearError() {
    assertThat(ImageCatalog.moduleFor("example/product-service:v3")).isEmpty();
    assertThat(ImageCatalog.moduleFor("nginx:1.27")).isEmpty();
    assertThatThrownBy(() -> ImageCatalog.requireModule("nginx:1.27", "Deployment default/web"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Deployment default/web")
        .hasMessageContaining("nginx:1.27")
        .hasMessageContaining("example/product-service:v1");
  }
}
