package io.shopmesh.payment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;

/** RFC 9457 problem details, serialised here so the +json media type needs no extra writer. */
final class Problem {
  static final String MEDIA_TYPE = "application/problem+json";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Problem() {}

  static Response of(int status, String title, String detail) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", "about:blank");
    body.put("title", title);
    body.put("status", status);
    body.put("detail", detail);
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
