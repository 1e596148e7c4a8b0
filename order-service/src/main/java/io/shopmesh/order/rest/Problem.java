package io.shopmesh.order.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.order.service.FieldError;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** RFC 9457 problem details; "errors" lists each invalid field. */
final class Problem {
  static final String MEDIA_TYPE = "application/problem+json";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Problem() {}

  static Response of(
      int status, String title, String detail, String instance, List<FieldError> errors) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", "about:blank");
    body.put("title", title);
    body.put("status", status);
    body.put("detail", detail);
    if (instance != null) {
      body.put("instance", instance);
    }
    if (errors != null && !errors.isEmpty()) {
      body.put("errors", errors);
    }
    try {
      return Response.status(status)
          .type(MEDIA_TYPE)
          .entity(MAPPER.writeValueAsString(body))
          .build();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
