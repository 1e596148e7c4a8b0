package io.shopmesh.mesh.config.validation;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Snippets of Istio YAML and the message Istio's webhook or CRD schema gives (empty: valid). */
class ValidationTableTest {

  private static final String VS =
      "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
          + "metadata:\n  name: vs\nspec:\n";
  private static final String DR =
      "apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\n"
          + "metadata:\n  name: dr\nspec:\n";
  private static final String GW =
      "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n";
  private static final String SE =
      "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n" + "metadata:\n  name: se\nspec:\n";

  private static final String AP =
      "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
          + "metadata:\n  name: ap\nspec:\n";

  static Stream<Arguments> cases() {
    return Stream.of(
        // VirtualService
        Arguments.of(
            "valid weighted routes",
            VS
                + "  hosts: [reviews]\n  http:\n  - route:\n"
                + "    - destination: {host: reviews, subset: v1}\n      weight: 75\n"
                + "    - destination: {host: reviews, subset: v2}\n      weight: 25\n",
            ""),
        Arguments.of(
            "negative weight",
            VS
                + "  hosts: [reviews]\n  http:\n  - route:\n"
                + "    - destination: {host: reviews}\n      weight: -15\n",
            "weight -15 < 0"),
        Arguments.of(
            "look-ahead regex",
            VS
                + "  hosts: [reviews]\n  http:\n  - match:\n"
                + "    - uri: {regex: '^/(?!admin).*'}\n    route:\n    - destination: {host: reviews}\n",
            "Istio uses RE2 style regex-based match"),
        Arguments.of(
            "back-reference regex",
            VS
                + "  hosts: [reviews]\n  http:\n  - match:\n"
                + "    - headers: {x-a: {regex: '(a)\\1'}}\n    route:\n    - destination: {host: reviews}\n",
            "\"headers\": error parsing regexp"),
        Arguments.of(
            "two match types",
            VS
                + "  hosts: [reviews]\n  http:\n  - match:\n"
                + "    - uri: {exact: /a, prefix: /b}\n    route:\n    - destination: {host: reviews}\n",
            "must validate one and only one schema (oneOf)"),
        Arguments.of(
            "bad header name",
            VS
                + "  hosts: [reviews]\n  http:\n  - match:\n"
                + "    - headers: {'bad header': {exact: x}}\n    route:\n    - destination: {host: reviews}\n",
            "header name bad header is not a valid header name"),
        Arguments.of(
            "bad timeout",
            VS
                + "  hosts: [reviews]\n  http:\n  - timeout: 5x\n    route:\n"
                + "    - destination: {host: reviews}\n",
            "must be a valid duration greater than 1ms"),
        Arguments.of(
            "sub-millisecond timeout",
            VS
                + "  hosts: [reviews]\n  http:\n  - timeout: 1500us\n    route:\n"
                + "    - destination: {host: reviews}\n",
            "only durations to ms precision are supported"),
        Arguments.of(
            "bad retryOn",
            VS
                + "  hosts: [reviews]\n  http:\n  - retries: {attempts: 3, retryOn: 'nope'}\n"
                + "    route:\n    - destination: {host: reviews}\n",
            "\"nope\" is not a valid retryOn policy"),
        Arguments.of(
            "no route",
            VS + "  hosts: [reviews]\n  http:\n  - timeout: 5s\n",
            "HTTP route, redirect or direct_response is required"),
        Arguments.of(
            "destination port out of range",
            VS
                + "  hosts: [reviews]\n  http:\n  - route:\n"
                + "    - destination: {host: reviews, port: {number: 70000}}\n",
            "port"),
        Arguments.of(
            "wildcard host on mesh",
            VS + "  hosts: ['*']\n  http:\n  - route:\n" + "    - destination: {host: reviews}\n",
            "wildcard host * is not allowed for virtual services bound to the mesh gateway"),
        Arguments.of(
            "unknown field",
            VS + "  hosts: [reviews]\n  htpp:\n  - route:\n    - destination: {host: a}\n",
            "unknown field \"spec.htpp\""),
        Arguments.of(
            "delegate without hosts",
            VS + "  http:\n  - route:\n    - destination: {host: reviews}\n",
            ""),
        Arguments.of(
            "bad subset name",
            VS
                + "  hosts: [reviews]\n  http:\n  - route:\n"
                + "    - destination: {host: reviews, subset: V_1}\n",
            "subset name is invalid: V_1"),
        Arguments.of(
            "abort status",
            VS
                + "  hosts: [reviews]\n  http:\n  - fault:\n      abort:\n"
                + "        httpStatus: 700\n        percentage: {value: 10}\n    route:\n    - destination: {host: reviews}\n",
            "HTTP status 700 is not in range 200-599"),
        // DestinationRule
        Arguments.of(
            "missing host",
            DR + "  subsets:\n  - name: v1\n    labels: {version: v1}\n",
            "spec.host: Required value"),
        Arguments.of(
            "duplicate subsets",
            DR + "  host: reviews\n  subsets:\n  - name: v1\n  - name: v1\n",
            "duplicate subset names: v1"),
        Arguments.of(
            "warmup without duration",
            DR
                + "  host: reviews\n  trafficPolicy:\n    loadBalancer:\n"
                + "      simple: ROUND_ROBIN\n      warmup: {minimumPercent: 10}\n",
            "warmup.duration: Required value"),
        Arguments.of(
            "negative maxRequestsPerConnection",
            DR
                + "  host: reviews\n  trafficPolicy:\n"
                + "    connectionPool:\n      http: {maxRequestsPerConnection: -1}\n",
            "max requests per connection must be non-negative"),
        Arguments.of(
            "mutual tls without cert",
            DR + "  host: reviews\n  trafficPolicy:\n    tls: {mode: MUTUAL}\n",
            "client certificate required for mutual tls"),
        // Gateway
        Arguments.of(
            "no servers",
            GW + "  selector: {istio: ingressgateway}\n",
            "gateway must have at least one server"),
        Arguments.of(
            "short gateway host",
            GW
                + "  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
                + "    hosts: [shop]\n",
            "short names (non FQDN) are not allowed"),
        Arguments.of(
            "https without tls",
            GW
                + "  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n"
                + "    hosts: [shop.example.com]\n",
            "server must have TLS settings for HTTPS/TLS protocols"),
        Arguments.of(
            "bad protocol",
            GW
                + "  servers:\n  - port: {number: 80, name: http, protocol: FTP}\n"
                + "    hosts: [shop.example.com]\n",
            "invalid protocol \"FTP\""),
        // ServiceEntry
        Arguments.of(
            "no hosts",
            SE + "  ports:\n  - {number: 80, name: http, protocol: HTTP}\n  resolution: DNS\n",
            "spec.hosts: Required value"),
        Arguments.of(
            "wildcard host",
            SE + "  hosts: ['*']\n  resolution: DNS\n",
            "hostname cannot be wildcard"),
        Arguments.of(
            "port 0",
            SE
                + "  hosts: [a.com]\n  ports:\n  - {number: 0, name: http, protocol: HTTP}\n"
                + "  resolution: DNS\n",
            "port must be between 1-65535"),
        Arguments.of(
            "duplicate port numbers",
            SE
                + "  hosts: [a.com]\n  ports:\n"
                + "  - {number: 80, name: a, protocol: HTTP}\n  - {number: 80, name: b, protocol: HTTP}\n"
                + "  resolution: DNS\n",
            "port number cannot be duplicated"),
        Arguments.of(
            "unknown resolution",
            SE + "  hosts: [a.com]\n  resolution: MAGIC\n",
            "Unsupported value: \"MAGIC\""),
        Arguments.of(
            "walkthrough payment entry",
            SE
                + "  hosts: [api.payment-provider.com]\n  ports:\n"
                + "  - {number: 443, name: https, protocol: HTTPS}\n  resolution: DNS\n  location: MESH_EXTERNAL\n",
            ""),
        Arguments.of(
            "unsupported API version",
            "apiVersion: networking.istio.io/v2\nkind: VirtualService\n"
                + "metadata: {name: x}\nspec: {}\n",
            "unsupported API version networking.istio.io/v2"),
        // AuthorizationPolicy
        Arguments.of(
            "valid allow from a service account with POST",
            AP
                + "  selector: {matchLabels: {app: order-service}}\n  rules:\n"
                + "  - from: [{source: {principals: [cluster.local/ns/default/sa/shop-frontend]}}]\n"
                + "    to: [{operation: {methods: [POST], paths: [/orders*]}}]\n",
            ""),
        Arguments.of(
            "v1beta1 allow-nothing",
            "apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\n"
                + "metadata:\n  name: allow-nothing\nspec: {}\n",
            ""),
        Arguments.of(
            "DENY without rules",
            AP + "  action: DENY\n",
            "DENY action without `rules` is meaningless"),
        Arguments.of(
            "CUSTOM without provider",
            AP + "  action: CUSTOM\n  rules: [{}]\n",
            "`provider.name` must not be empty"),
        Arguments.of(
            "provider with ALLOW",
            AP + "  provider: {name: ext}\n  rules: [{}]\n",
            "`provider` must not be with non CUSTOM action, found ALLOW"),
        Arguments.of(
            "empty source",
            AP + "  rules:\n  - from: [{source: {}}]\n",
            "`from.source` must not be empty, found at rule 0"),
        Arguments.of(
            "service accounts with namespaces",
            AP + "  rules:\n  - from: [{source: {serviceAccounts: [a], namespaces: [b]}}]\n",
            "cannot set serviceAccounts with namespaces or principals, found at rule 0"),
        Arguments.of(
            "bad ip block",
            AP + "  rules:\n  - from: [{source: {ipBlocks: [10.0.0.300]}}]\n",
            "bad IP address (10.0.0.300)"),
        Arguments.of(
            "bad port",
            AP + "  rules:\n  - to: [{operation: {ports: ['70000']}}]\n",
            "bad port (70000)"),
        Arguments.of(
            "unknown when key",
            AP + "  rules:\n  - when: [{key: source.color, values: [red]}]\n",
            "invalid `value` for `key` source.color: unknown attribute: source.color"),
        Arguments.of(
            "when without values",
            AP + "  rules:\n  - when: [{key: source.ip}]\n",
            "at least one of `values` or `notValues` must be set for key source.ip"),
        Arguments.of(
            "unknown field (CRD schema)",
            AP + "  rules:\n  - from: [{source: {principal: [a]}}]\n",
            "unknown field"),
        Arguments.of(
            "missing name",
            "apiVersion: v1\nkind: Service\nmetadata: {}\nspec:\n  ports: [{port: 80}]\n",
            "metadata.name: Required value"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void validates(String name, String yaml, String expected) {
    LoadResult r = new ConfigLoader().load(Path.of("case.yaml"), yaml);
    List<String> problems =
        r.diagnostics().stream()
            .filter(d -> d.level() != Diagnostic.Level.INFO && !d.code().equals("IST0133"))
            .map(Diagnostic::toIstioctlLine)
            .toList();
    if (expected.isEmpty()) {
      assertThat(problems).isEmpty();
      assertThat(
              r.config().virtualServices().size()
                  + r.config().destinationRules().size()
                  + r.config().gateways().size()
                  + r.config().serviceEntries().size()
                  + r.config().authorizationPolicies().size())
          .isEqualTo(1);
    } else {
      assertThat(problems).anySatisfy(p -> assertThat(p).contains(expected));
      assertThat(r.config().virtualServices()).isEmpty();
      assertThat(r.config().serviceEntries()).isEmpty();
      assertThat(r.config().authorizationPolicies()).isEmpty();
    }
  }
}
