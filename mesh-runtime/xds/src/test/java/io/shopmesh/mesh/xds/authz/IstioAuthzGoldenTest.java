package io.shopmesh.mesh.xds.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.fabric8.istio.api.security.v1.AuthorizationPolicy;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.Located;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Istio's golden AuthorizationPolicy translations (pilot's authz builder test data, under {@code
 * istio-authz/}): each case's policies are loaded by the config loader, selected for the case's
 * proxy and built by {@link RbacBuilder}; every filter is compared with Istio's as protos (the
 * golden YAML read through Envoy's JSON mapping), so field order and map order do not matter. Fails
 * on any in-scope case that disagrees.
 */
class IstioAuthzGoldenTest {

  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final ObjectMapper JSON = new ObjectMapper();
  static final JsonFormat.TypeRegistry TYPES =
      JsonFormat.TypeRegistry.newBuilder()
          .add(RBAC.getDescriptor())
          .add(TcpRbac.configDescriptor())
          .add(UriTemplateMatchConfig.getDescriptor())
          .build();

  @Test
  void istioAuthzCases() throws IOException {
    // differing pairs of an earlier run would be mistaken for this run's
    Path out = Path.of("target", "istio-authz");
    if (Files.isDirectory(out)) {
      try (Stream<Path> old = Files.walk(out)) {
        old.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    JsonNode cases = YAML.readTree(resource("cases.yaml"));
    JsonNode proxy = cases.get("proxy");
    String namespace = proxy.get("namespace").asText();
    @SuppressWarnings("unchecked")
    Map<String, String> labels = YAML.convertValue(proxy.get("labels"), Map.class);
    StringBuilder report = new StringBuilder();
    List<String> disagree = new ArrayList<>();
    List<String> scoped = new ArrayList<>();
    int agreeAll = 0;
    int totalAll = 0;
    for (String kind : List.of("http", "tcp")) {
      int agree = 0;
      int total = 0;
      for (JsonNode c : cases.get(kind)) {
        String name = kind + "/" + c.get("name").asText();
        if (c.has("outOfScope")) {
          scoped.add(name + ": " + c.get("outOfScope").asText());
          continue;
        }
        total++;
        String diff = run(kind, c, namespace, labels);
        if (diff == null) {
          agree++;
        } else {
          disagree.add(name + ": " + diff);
        }
      }
      report.append(String.format("istio authz %s: %d agree of %d%n", kind, agree, total));
      agreeAll += agree;
      totalAll += total;
    }
    report.append(String.format("istio authz: %d agree of %d%n", agreeAll, totalAll));
    report.append("scoped out: ").append(scoped.size()).append(" cases\n");
    for (String s : scoped) {
      report.append("  ").append(s).append('\n');
    }
    for (String d : disagree) {
      report.append("disagrees: ").append(d).append('\n');
    }
    System.out.print(report);
    assertThat(disagree).as("cases that disagree with Istio's golden RBAC").isEmpty();
  }

  static String run(String kind, JsonNode c, String namespace, Map<String, String> labels)
      throws IOException {
    // read as istiod reads config: the loader, with its validation
    String input = kind + "/" + c.get("input").asText();
    String yaml = new String(resource(input).readAllBytes(), StandardCharsets.UTF_8);
    LoadResult loaded = new ConfigLoader().load(Path.of(input), yaml);
    if (loaded.hasErrors()) {
      return "input does not load: " + loaded.diagnostics();
    }
    List<AuthorizationPolicy> policies =
        loaded.config().authorizationPolicies().stream().map(Located::object).toList();
    TrustDomainBundle td = TrustDomainBundle.NONE;
    if (c.has("trustDomains")) {
      List<String> tds = new ArrayList<>();
      c.get("trustDomains").forEach(t -> tds.add(t.asText()));
      td = new TrustDomainBundle(tds);
    }
    RbacBuilder b =
        new RbacBuilder(
            td,
            AuthzPolicies.forWorkload(policies, AuthzPolicies.ROOT_NAMESPACE, namespace, labels));
    List<? extends Message> got = kind.equals("http") ? b.buildHttp() : b.buildTcp();
    List<String> wants = new ArrayList<>();
    c.get("want").forEach(w -> wants.add(w.asText()));
    if (got.size() != wants.size()) {
      return "got " + got.size() + " filters, want " + wants.size() + ": " + got;
    }
    for (int i = 0; i < wants.size(); i++) {
      JsonNode want = YAML.readTree(resource(kind + "/" + wants.get(i)));
      Message.Builder parsed = kind.equals("http") ? HttpFilter.newBuilder() : Filter.newBuilder();
      JsonFormat.parser().usingTypeRegistry(TYPES).merge(JSON.writeValueAsString(want), parsed);
      Message expected = parsed.build();
      if (!expected.equals(got.get(i))) {
        JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(TYPES);
        Path dir = Path.of("target", "istio-authz", kind);
        Files.createDirectories(dir);
        String base = c.get("name").asText() + "-" + i;
        Files.writeString(dir.resolve(base + ".want.json"), printer.print(expected));
        Files.writeString(dir.resolve(base + ".got.json"), printer.print(got.get(i)));
        return "filter " + i + " differs (want and got in " + dir + "/" + base + ".*.json)";
      }
    }
    return null;
  }

  static InputStream resource(String name) {
    InputStream in = IstioAuthzGoldenTest.class.getResourceAsStream("/istio-authz/" + name);
    if (in == null) {
      throw new IllegalStateException("missing istio-authz/" + name);
    }
    return in;
  }
}
