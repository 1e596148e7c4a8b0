package io.shopmesh.order.client;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.math.BigDecimal;

/** The part of product-service's answer the order needs (v2 adds discountPrice). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ProductInfo(
    int id,
    String name,
    BigDecimal price,
    BigDecimal discountPrice,
    String currency,
    String version) {

  public BigDecimal effectivePrice() {
    return discountPrice != null ? discountPrice : price;
  }
}
