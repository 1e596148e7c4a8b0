package io.shopmesh.order.service;

import java.util.List;

/** A failure the REST layer turns into problem+json. */
public class OrderException extends RuntimeException {

  private final int status;
  private final String title;
  private final List<FieldError> errors;

  public OrderException(int status, String title, String detail, List<FieldError> errors) {
    super(detail);
    this.status = status;
    this.title = title;
    this.errors = errors;
  }

  public int status() {
    return status;
  }

  public String title() {
    return title;
  }

  public List<FieldError> errors() {
    return errors;
  }
}
