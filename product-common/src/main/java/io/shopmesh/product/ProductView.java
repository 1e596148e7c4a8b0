package io.shopmesh.product;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.math.BigDecimal;
import java.math.RoundingMode;

/** What a client sees of a product; v2-only fields stay null (and absent) in v1. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ProductView(
    int id,
    String name,
    String description,
    String category,
    BigDecimal price,
    String currency,
    BigDecimal discountPrice,
    Integer discountPercent,
    Rating rating) {

  public record Rating(double stars, int reviews) {}

  static ProductView of(Product p, ProductConfig.Features features) {
    BigDecimal discounted = null;
    Integer percent = null;
    if (features.discounts() && p.discountPercent() > 0) {
      percent = p.discountPercent();
      discounted =
          p.price()
              .multiply(BigDecimal.valueOf(100 - p.discountPercent()))
              .divide(BigDecimal.valueOf(100), 2, RoundingMode.HALF_UP);
    }
    Rating rating = features.ratings() ? new Rating(p.rating(), p.reviews()) : null;
    return new ProductView(
        p.id(),
        p.name(),
        p.description(),
        p.category(),
        p.price(),
        p.currency(),
        discounted,
        percent,
        rating);
  }
}
