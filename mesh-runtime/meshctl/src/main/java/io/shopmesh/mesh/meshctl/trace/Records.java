package io.shopmesh.mesh.meshctl.trace;

import io.shopmesh.mesh.meshctl.local.Http;
import io.shopmesh.mesh.meshctl.local.MeshState;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** The decision records of one request from every proxy of the running local mesh. */
public final class Records {
  private Records() {}

  /**
   * Records by pod, from each proxy's admin port (15000); a proxy that does not answer is skipped.
   */
  public static Map<String, JsonArray> collect(MeshState st, String requestId) {
    Map<String, JsonArray> out = new LinkedHashMap<>();
    String q = URLEncoder.encode(requestId, StandardCharsets.UTF_8);
    for (MeshState.PodState p : st.pods()) {
      if (!p.hasProxy()) {
        continue;
      }
      try {
        Http.Response r =
            Http.get("http://" + p.ip() + ":15000/debug/requests?id=" + q, Duration.ofSeconds(5));
        if (r.ok()) {
          JsonArray recs = new JsonObject(r.body()).getJsonArray("requests");
          if (recs != null && !recs.isEmpty()) {
            out.put(p.name(), recs);
          }
        }
      } catch (IOException | RuntimeException e) {
        System.err.println("meshctl: " + p.name() + ": " + e.getMessage());
      }
    }
    return out;
  }

  /** Pod name to IP. */
  public static Map<String, String> ips(MeshState st) {
    Map<String, String> out = new LinkedHashMap<>();
    for (MeshState.PodState p : st.pods()) {
      out.put(p.name(), p.ip());
    }
    return out;
  }

  /** The -o json form: the request id and every pod's records. */
  public static JsonObject json(String requestId, Map<String, JsonArray> byPod) {
    JsonObject pods = new JsonObject();
    byPod.forEach(pods::put);
    return new JsonObject().put("request_id", requestId).put("pods", pods);
  }
}
