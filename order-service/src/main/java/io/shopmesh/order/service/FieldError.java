package io.shopmesh.order.service;

/** One invalid field of a request, named as in the JSON body. */
public record FieldError(String field, String message) {}
