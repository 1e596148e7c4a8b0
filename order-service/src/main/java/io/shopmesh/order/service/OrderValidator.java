package io.shopmesh.order.service;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the raw JSON body field by field, so a wrong type ("quantity": "two") is reported against
 * its field like a missing or out-of-range value, and all bad fields are named at once.
 */
public final class OrderValidator {

  public static final int MAX_QUANTITY = 100;
  public static final int MAX_CUSTOMER_LENGTH = 100;

  private OrderValidator() {}

  public static List<FieldError> validate(JsonNode body) {
    List<FieldError> errors = new ArrayList<>();
    JsonNode productId = body.get("productId");
    if (productId == null || productId.isNull()) {
      errors.add(new FieldError("productId", "is required"));
    } else if (!productId.canConvertToInt()
        || !productId.isIntegralNumber()
        || productId.asInt() < 1) {
      errors.add(new FieldError("productId", "must be a positive integer"));
    }
    JsonNode quantity = body.get("quantity");
    if (quantity == null || quantity.isNull()) {
      errors.add(new FieldError("quantity", "is required"));
    } else if (!quantity.isIntegralNumber()
        || !quantity.canConvertToInt()
        || quantity.asInt() < 1
        || quantity.asInt() > MAX_QUANTITY) {
      errors.add(new FieldError("quantity", "must be an integer from 1 to " + MAX_QUANTITY));
    }
    JsonNode customer = body.get("customer");
    if (customer == null || customer.isNull()) {
      errors.add(new FieldError("customer", "is required"));
    } else if (!customer.isTextual() || customer.asText().isBlank()) {
      errors.add(new FieldError("customer", "must be a non-blank string"));
    } else if (customer.asText().length() > MAX_CUSTOMER_LENGTH) {
      errors.add(
          new FieldError("customer", "must be at most " + MAX_CUSTOMER_LENGTH + " characters"));
    }
    return errors;
  }

  public static OrderRequest toRequest(JsonNode body) {
    return new OrderRequest(
        body.get("productId").asInt(),
        body.get("quantity").asInt(),
        body.get("customer").asText().trim());
  }
}
