package io.shopmesh.product;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** Settings that make one jar of shared code into product v1 or v2. */
@ConfigMapping(prefix = "product")
public interface ProductConfig {

  /** "v1" or "v2": reported in every answer and in the x-product-version header. */
  @WithDefault("v1")
  String version();

  /** Pod name; defaults to the POD_NAME env var, then the host name. */
  Optional<String> pod();

  Features features();

  interface Features {
    /** v2 shows star ratings. */
    @WithDefault("false")
    boolean ratings();

    /** v2 shows discounted prices. */
    @WithDefault("false")
    boolean discounts();
  }
}
