package io.shopmesh.order.client;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/** The provider's list answer ({"object":"list","data":[...]}). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ChargeList(List<ChargeResponse> data) {}
