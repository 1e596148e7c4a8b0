package io.shopmesh.mesh.meshctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.meshctl.kube.KubeMesh;
import io.shopmesh.mesh.meshctl.kube.KubeOptions;
import io.shopmesh.mesh.meshctl.local.Commands;
import io.shopmesh.mesh.meshctl.local.Http;
import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code meshctl apply -f FILE}: like kubectl apply, through istiod's validating /apply. */
@Command(
    name = "apply",
    mixinStandardHelpOptions = true,
    description = {
      "Validates FILE (one or more YAML documents) in istiod and, when valid, writes it into the",
      "watched config directory: the proxies get the new config at once. Invalid config is rejected with the",
      "reasons and the running config stays as it was (exit code 1)."
    })
public final class ApplyCommand implements Callable<Integer> {

  @Option(
      names = {"-f", "--filename"},
      required = true,
      paramLabel = "FILE",
      description = "YAML file (or - for stdin).")
  List<String> files;

  @Option(
      names = "--istiod",
      paramLabel = "URL",
      description =
          "istiod's HTTP address (default: the running local mesh's, e.g. http://127.0.0.1:15014).")
  String istiod;

  @Option(
      names = {"-n", "--namespace"},
      defaultValue = "default",
      paramLabel = "NS",
      description =
          "With --kube: the namespace for objects that name none (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Mixin KubeOptions kube;

  @Option(
      names = "--timeout",
      defaultValue = "30",
      paramLabel = "SECONDS",
      description =
          "Give up after this long; istiod applies nothing after the deadline (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Mixin MeshOptions mesh;

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public Integer call() throws IOException {
    if (kube.kube) {
      return applyToCluster();
    }
    String base =
        istiod != null ? istiod.replaceAll("/+$", "") : mesh.requireRunning().istiodHttpUrl();
    String token = applyToken();
    int rc = 0;
    for (String f : files) {
      String yaml =
          f.equals("-")
              ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
              : read(Path.of(f));
      Http.Response r;
      // istiod must be done (pushed) by the deadline or apply nothing; we wait a little longer
      long deadline = System.currentTimeMillis() + timeoutSeconds * 1000L;
      try {
        r =
            Http.post(
                base + "/apply?deadline=" + deadline,
                "application/yaml",
                yaml,
                Duration.ofSeconds(timeoutSeconds + 5L),
                token);
      } catch (HttpTimeoutException e) {
        System.err.println(
            "error: istiod did not answer within "
                + (timeoutSeconds + 5)
                + " s; it applies nothing after the request's deadline, so "
                + f
                + " is not applied (check with ./meshctl status)");
        rc = 1;
        continue;
      } catch (IOException e) {
        throw new MeshctlException("cannot reach istiod at " + base + ": " + e.getMessage());
      }
      JsonNode body = parse(r.body());
      if (r.ok()) {
        for (String line : applied(body)) {
          System.out.println(line);
        }
        for (String d : texts(body.path("diagnostics"))) {
          System.err.println(d);
        }
      } else {
        List<String> diags = texts(body.path("diagnostics"));
        if (diags.isEmpty()) {
          diags = List.of(r.body().isBlank() ? "istiod answered " + r.status() : r.body().strip());
        }
        diags.forEach(System.err::println);
        System.err.println("error: " + f + " was rejected; the running config is unchanged");
        rc = 1;
      }
    }
    return rc;
  }

  /**
   * istiod's apply token: {@code MESH_APPLY_TOKEN}, else the one meshctl up made for the local mesh
   * (in its state dir), else none.
   */
  private String applyToken() throws IOException {
    String env = System.getenv("MESH_APPLY_TOKEN");
    if (env != null && !env.isBlank()) {
      return env.trim();
    }
    Path f = mesh.store().dir().resolve(Commands.APPLY_TOKEN_FILE);
    return istiod == null && Files.isRegularFile(f) ? Files.readString(f).trim() : null;
  }

  /** kubectl apply: the API server's schema and the validating webhook decide. */
  private int applyToCluster() throws IOException {
    int rc = 0;
    try (KubeMesh km = kube.connect()) {
      for (String f : files) {
        String yaml =
            f.equals("-")
                ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                : read(Path.of(f));
        try {
          km.apply(yaml, namespace).forEach(System.out::println);
        } catch (MeshctlException e) {
          System.err.println(e.getMessage());
          System.err.println("error: " + f + " was rejected; the running config is unchanged");
          rc = 1;
        }
      }
    }
    return rc;
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new MeshctlException("cannot read " + p + ": " + e.getMessage());
    }
  }

  private static JsonNode parse(String body) {
    try {
      return JSON.readTree(body == null || body.isBlank() ? "{}" : body);
    } catch (IOException e) {
      return JSON.createObjectNode();
    }
  }

  /** kubectl's way: {@code virtualservice.networking.istio.io/product-vs configured}. */
  static List<String> applied(JsonNode body) {
    List<String> out = new ArrayList<>();
    for (JsonNode a : body.path("applied")) {
      if (a.isTextual()) {
        out.add(a.asText());
      } else if (a.isObject()) {
        String kind = a.path("kind").asText("");
        String name = a.path("name").asText(a.path("metadata").path("name").asText(""));
        String group =
            kind.equals("Service") || kind.equals("Namespace")
                ? ""
                : kind.equals("Deployment") ? ".apps" : ".networking.istio.io";
        String action = a.path("action").asText(a.path("result").asText("configured"));
        out.add(kind.toLowerCase() + group + "/" + name + " " + action);
      }
    }
    return out;
  }

  static List<String> texts(JsonNode arr) {
    List<String> out = new ArrayList<>();
    for (JsonNode d : arr) {
      out.add(d.isTextual() ? d.asText() : d.toString());
    }
    return out;
  }
}
