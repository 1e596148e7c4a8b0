package io.shopmesh.order.client;

import java.math.BigDecimal;
import java.util.Map;

public record ChargeRequest(
    BigDecimal amount, String currency, String description, Map<String, String> metadata) {}
