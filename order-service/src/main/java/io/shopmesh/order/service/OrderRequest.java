package io.shopmesh.order.service;

/** A validated order request. */
public record OrderRequest(int productId, int quantity, String customer) {}
