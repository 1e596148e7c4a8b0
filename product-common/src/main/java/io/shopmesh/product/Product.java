package io.shopmesh.product;

import java.math.BigDecimal;

/** One catalog entry. Ratings and discounts exist in the data; only v2 shows them. */
public record Product(
    int id,
    String name,
    String description,
    String category,
    BigDecimal price,
    String currency,
    double rating,
    int reviews,
    int discountPercent) {}
