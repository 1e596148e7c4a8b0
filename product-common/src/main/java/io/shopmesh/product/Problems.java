package io.shopmesh.product;

import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;

/** RFC 9457 problem details, as a JSON string (so the +json media type needs no extra writer). */
final class Problems {

  static final String PROBLEM_JSON = "application/problem+json";

  private Problems() {}

  static Response notFound(String title, String detail, String instancePath, ServingInstance inst) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", "about:blank");
    body.put("title", title);
    body.put("status", 404);
    body.put("detail", detail);
    body.put("instance", instancePath);
    body.put("version", inst.version());
    body.put("pod", inst.pod());
    return Response.status(404).type(PROBLEM_JSON).entity(Json.write(body)).build();
  }
}
