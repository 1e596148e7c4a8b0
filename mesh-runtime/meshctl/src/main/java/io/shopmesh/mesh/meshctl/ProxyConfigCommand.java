package io.shopmesh.mesh.meshctl;

import static io.shopmesh.mesh.meshctl.envoy.ConfigDump.field;
import static io.shopmesh.mesh.meshctl.envoy.ConfigDump.path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.shopmesh.mesh.meshctl.envoy.ConfigDump;
import io.shopmesh.mesh.meshctl.envoy.ProxyConfigView;
import io.shopmesh.mesh.meshctl.kube.KubeMesh;
import io.shopmesh.mesh.meshctl.kube.KubeOptions;
import io.shopmesh.mesh.meshctl.local.Http;
import io.shopmesh.mesh.meshctl.local.MeshState;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code meshctl proxy-config routes|clusters|listeners|endpoints POD}: as istioctl proxy-config.
 */
@Command(
    name = "proxy-config",
    aliases = "pc",
    mixinStandardHelpOptions = true,
    description = {
      "Shows the Envoy config a pod's proxy holds, read from its admin /config_dump, as",
      "istioctl proxy-config does: a short table with istioctl's columns, or -o json for the Envoy resources."
    })
public final class ProxyConfigCommand implements Callable<Integer> {

  enum Type {
    routes,
    clusters,
    listeners,
    endpoints,
    all
  }

  @Parameters(
      index = "0",
      paramLabel = "TYPE",
      description = "routes, clusters, listeners, endpoints (or all).",
      converter = TypeConverter.class)
  Type type;

  @Parameters(
      index = "1",
      paramLabel = "POD",
      description = "Pod name (a unique prefix, or pod.namespace).")
  String pod;

  @Option(
      names = "--name",
      paramLabel = "NAME",
      description =
          "Only the resource with this name (route config \"8080\", cluster, listener, endpoints' cluster).")
  String name;

  @Option(names = "--fqdn", description = "clusters: only this service FQDN.")
  String fqdn;

  @Option(names = "--port", description = "clusters and listeners: only this port.")
  Integer port;

  @Option(names = "--subset", description = "clusters: only this subset.")
  String subset;

  @Option(names = "--direction", description = "clusters: inbound or outbound.")
  String direction;

  @Option(
      names = {"-o", "--output"},
      defaultValue = "short",
      paramLabel = "FORMAT",
      description = "short or json.")
  String output;

  @Option(
      names = "--admin",
      paramLabel = "URL",
      description = "The proxy's admin address (default: the pod's IP, port 15000).")
  String admin;

  @Mixin MeshOptions mesh;

  @Mixin KubeOptions kube;

  /** GETs a path of the proxy's admin port: directly, or through the API server with --kube. */
  private Function<String, String> adminGet;

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  static final class TypeConverter implements picocli.CommandLine.ITypeConverter<Type> {
    @Override
    public Type convert(String v) {
      String s = v.toLowerCase(Locale.ROOT);
      return switch (s) {
        case "route", "routes", "r" -> Type.routes;
        case "cluster", "clusters", "c" -> Type.clusters;
        case "listener", "listeners", "l" -> Type.listeners;
        case "endpoint", "endpoints", "ep", "eds" -> Type.endpoints;
        case "all" -> Type.all;
        default ->
            throw new picocli.CommandLine.TypeConversionException(
                "'" + v + "' is not one of routes, clusters, listeners, endpoints, all");
      };
    }
  }

  @Override
  public Integer call() throws IOException {
    if (!output.equals("short") && !output.equals("json")) {
      throw new MeshctlException("-o must be short or json");
    }
    if (kube.kube) {
      try (KubeMesh km = kube.connect()) {
        KubeMesh.MeshPod p = km.pod(pod);
        adminGet = path -> km.podGet(p, 15000, path);
        show();
      }
      return 0;
    }
    String base = adminUrl();
    adminGet = path -> fetch(base + path);
    show();
    return 0;
  }

  private void show() throws IOException {
    switch (type) {
      case endpoints -> endpoints();
      case all -> {
        for (Type t : List.of(Type.clusters, Type.listeners, Type.routes)) {
          print(t, ConfigDump.parse(adminGet.apply("/config_dump")));
          System.out.println();
        }
        endpoints();
      }
      default -> print(type, ConfigDump.parse(adminGet.apply("/config_dump")));
    }
  }

  private String adminUrl() {
    if (admin != null) {
      return admin.replaceAll("/+$", "");
    }
    MeshState st = mesh.requireRunning();
    MeshState.PodState p = mesh.requirePod(st, pod);
    if (!p.hasProxy()) {
      throw new MeshctlException(p.name() + " has no proxy (it is outside the mesh)");
    }
    return "http://" + p.ip() + ":15000";
  }

  private static String fetch(String url) {
    try {
      Http.Response r = Http.get(url, Duration.ofSeconds(10));
      if (!r.ok()) {
        throw new MeshctlException(url + " answered " + r.status());
      }
      return r.body();
    } catch (IOException e) {
      throw new MeshctlException(
          "cannot reach the proxy's admin at " + url + ": " + e.getMessage());
    }
  }

  private void print(Type t, ConfigDump dump) throws IOException {
    List<JsonNode> items =
        switch (t) {
          case routes -> dump.routes().stream().filter(named()).toList();
          case clusters ->
              dump.clusters().stream().filter(named()).filter(clusterFilter()).toList();
          case listeners ->
              dump.listeners().stream().filter(named()).filter(listenerPort()).toList();
          default -> List.of();
        };
    if (output.equals("json")) {
      System.out.println(JSON.writeValueAsString(items));
      return;
    }
    System.out.print(
        switch (t) {
          case routes -> ProxyConfigView.routes(items);
          case clusters -> ProxyConfigView.clusters(items);
          default -> ProxyConfigView.listeners(items);
        });
  }

  private void endpoints() throws IOException {
    // istioctl reads /clusters?format=json; fall back to the EDS part of the config dump
    JsonNode clusters = null;
    try {
      JsonNode n = JSON.readTree(adminGet.apply("/clusters?format=json"));
      if (!field(n, "cluster_statuses").isMissingNode()) {
        clusters = n;
      }
    } catch (IOException | RuntimeException e) {
      clusters = null;
    }
    if (clusters != null) {
      var filtered = JSON.createArrayNode();
      for (JsonNode cs : field(clusters, "cluster_statuses")) {
        if (name == null || name.equals(field(cs, "name").asText())) {
          filtered.add(cs);
        }
      }
      var root = JSON.createObjectNode().set("cluster_statuses", filtered);
      System.out.print(
          output.equals("json")
              ? JSON.writeValueAsString(root) + "\n"
              : ProxyConfigView.endpointsFromClusters(root));
      return;
    }
    ConfigDump dump = ConfigDump.parse(adminGet.apply("/config_dump?include_eds"));
    List<JsonNode> cla =
        dump.endpoints().stream()
            .filter(e -> name == null || name.equals(field(e, "cluster_name").asText()))
            .toList();
    System.out.print(
        output.equals("json")
            ? JSON.writeValueAsString(cla) + "\n"
            : ProxyConfigView.endpointsFromAssignments(cla));
  }

  private Predicate<JsonNode> named() {
    return n -> name == null || name.equals(field(n, "name").asText());
  }

  private Predicate<JsonNode> clusterFilter() {
    return c -> {
      var n = ProxyConfigView.ClusterName.parse(field(c, "name").asText(""));
      return (fqdn == null || n.fqdn().equals(fqdn) || n.fqdn().startsWith(fqdn + "."))
          && (port == null || n.port().equals(port.toString()))
          && (subset == null || n.subset().equals(subset))
          && (direction == null || n.direction().equals(direction));
    };
  }

  private Predicate<JsonNode> listenerPort() {
    return l ->
        port == null || path(l, "address", "socket_address", "port_value").asInt(-1) == port;
  }
}
