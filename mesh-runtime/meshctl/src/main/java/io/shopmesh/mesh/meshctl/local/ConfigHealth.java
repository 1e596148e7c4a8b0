package io.shopmesh.mesh.meshctl.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What istiod's {@code /debug/configz} says is not served as written: resources that keep their
 * last good version (their file is empty, unparsable, invalid, or defines a duplicate) and why.
 */
public final class ConfigHealth {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ConfigHealth() {}

  /** One line per resource on its last good version, then istiod's current errors. */
  public static List<String> lastGood(String istiodBase) {
    try {
      Http.Response r = Http.get(istiodBase + "/debug/configz", Duration.ofSeconds(3));
      return r.ok() ? parse(r.body()) : List.of();
    } catch (Exception e) {
      return List.of();
    }
  }

  static List<String> parse(String configz) throws IOException {
    JsonNode root = JSON.readTree(configz);
    List<String> out = new ArrayList<>();
    for (JsonNode res : root.path("resources")) {
      if (res.path("status").asText().startsWith("LAST_GOOD")) {
        out.add(
            "LAST_GOOD "
                + res.path("kind").asText()
                + " "
                + res.path("namespace").asText()
                + "/"
                + res.path("name").asText()
                + " (kept version from "
                + res.path("source").asText()
                + ")");
      }
    }
    for (JsonNode e : root.path("errors")) {
      out.add(e.asText());
    }
    return out;
  }
}
