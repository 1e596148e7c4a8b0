package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiPredicate;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Structural validation against the OpenAPI v3 schemas of Istio's CRDs (networking.istio.io/v1), as
 * the Kubernetes API server applies them before Istio's webhook: unknown fields, types, required
 * fields, enums, ranges, one-of groups, list keys and the CRDs' CEL rules. Messages use the API
 * server's wording ({@code spec.hosts: Required value}).
 *
 * <p>Unknown fields are errors: Istio's CRDs are structural (preserveUnknownFields false) and
 * kubectl applies with strict field validation by default, so a misspelt field is rejected rather
 * than silently dropped.
 */
public final class SchemaValidator {

  private static final String RESOURCE = "istio-crd-schemas.json";

  /** The security.istio.io CRDs' schemas (AuthorizationPolicy, v1). */
  private static final String SECURITY_RESOURCE = "istio-security-crd-schemas.json";

  private static final JsonNode SCHEMAS = loadSchemas();
  private static final Pattern PORT_NAME =
      Pattern.compile("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$");

  /**
   * The CEL rules found in Istio's networking CRDs, each written out in Java; unknown rules pass.
   */
  private static final Map<String, BiPredicate<JsonNode, JsonNode>> CEL =
      Map.ofEntries(
          Map.entry(
              "duration(self) >= duration('1ms')",
              (self, p) ->
                  GoDuration.parse(self.asText())
                      .map(d -> d.compareTo(Duration.ofMillis(1)) >= 0)
                      .orElse(false)),
          Map.entry(
              "self.all(key, !key.contains(\"*\"))",
              (self, p) -> noKey(self, k -> k.contains("*"))),
          Map.entry("self.all(key, key.size() != 0)", (self, p) -> noKey(self, String::isEmpty)),
          Map.entry("!self.contains(\"*\")", (self, p) -> !self.asText().contains("*")),
          Map.entry(
              "(has(self.tlsCertificates) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1",
              (self, p) -> count(self, "tlsCertificates", "credentialNames") <= 1),
          Map.entry(
              "(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1",
              (self, p) -> count(self, "credentialName", "credentialNames") <= 1),
          Map.entry(
              "(has(self.credentialNames) ? 1 : 0) + (has(self.tlsCertificates) ? 1 : 0) <= 1",
              (self, p) -> count(self, "credentialNames", "tlsCertificates") <= 1),
          Map.entry(
              "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1",
              (self, p) -> count(self, "workloadSelector", "endpoints") <= 1),
          Map.entry(
              "!((has(self.addresses) ? self.addresses : []).exists(k, k.contains(\"/\")) && "
                  + "!((has(self.resolution) ? self.resolution : \"NONE\") in [\"STATIC\", \"NONE\"]))",
              (self, p) -> {
                boolean cidr = false;
                for (JsonNode a : self.path("addresses")) {
                  cidr |= a.asText().contains("/");
                }
                String res = self.has("resolution") ? self.get("resolution").asText() : "NONE";
                return !(cidr && !(res.equals("STATIC") || res.equals("NONE")));
              }),
          Map.entry(
              "((has(self.resolution) ? self.resolution : \"NONE\") == \"NONE\") ? !has(self.endpoints) : true",
              (self, p) ->
                  !(self.has("resolution") ? self.get("resolution").asText() : "NONE")
                          .equals("NONE")
                      || !self.has("endpoints")),
          Map.entry(
              "((has(self.resolution) ? self.resolution : \"\") == \"DNS_ROUND_ROBIN\") ? "
                  + "((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true",
              (self, p) ->
                  !self.path("resolution").asText("").equals("DNS_ROUND_ROBIN")
                      || self.path("endpoints").size() <= 1),
          Map.entry(
              "has(self.address) || has(self.network)",
              (self, p) -> self.has("address") || self.has("network")),
          Map.entry(
              "(has(self.address) ? self.address : \"\").startsWith(\"unix://\") ? !has(self.ports) : true",
              (self, p) ->
                  !self.path("address").asText("").startsWith("unix://") || !self.has("ports")),
          Map.entry(
              "self.startsWith(\"unix://\") ? (self.substring(7, 8) == \"/\" || self.substring(7, 8) == \"@\") : true",
              (self, p) -> {
                String s = self.asText();
                return !s.startsWith("unix://")
                    || (s.length() > 7 && (s.charAt(7) == '/' || s.charAt(7) == '@'));
              }),
          Map.entry(
              "self.startsWith(\"unix://\") ? !self.endsWith(\"/\") : true",
              (self, p) -> !self.asText().startsWith("unix://") || !self.asText().endsWith("/")),
          Map.entry(
              "self.all(key, size(key) < 63 && key.matches(\"^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$\"))",
              (self, p) -> noKey(self, k -> !(k.length() < 63 && PORT_NAME.matcher(k).matches()))),
          Map.entry(
              "0 < self && self <= 65535",
              (self, p) -> self.isNumber() && self.asLong() > 0 && self.asLong() <= 65535),
          Map.entry("self != \"*\"", (self, p) -> !self.asText().equals("*")),
          Map.entry(
              "self.all(l1, self.exists_one(l2, l1.number == l2.number))",
              (self, p) -> {
                Set<String> seen = new HashSet<>();
                for (JsonNode port : self) {
                  if (!seen.add(port.path("number").asText())) {
                    return false;
                  }
                }
                return true;
              }));

  private SchemaValidator() {}

  public static boolean supports(String kind) {
    return SCHEMAS.has(kind);
  }

  /** Checks a whole object (apiVersion, kind, metadata, spec) against its kind's CRD schema. */
  public static List<Violation> validate(String kind, JsonNode object) {
    List<Violation> out = new ArrayList<>();
    JsonNode schema = SCHEMAS.get(kind);
    if (schema == null) {
      return out;
    }
    // metadata is checked by the API server itself, not by the CRD schema
    JsonNode spec = object.get("spec");
    if (spec == null || spec.isNull()) {
      out.add(Violation.error("spec", "spec: Required value"));
      return out;
    }
    Iterator<String> fields = object.fieldNames();
    while (fields.hasNext()) {
      String f = fields.next();
      if (!Set.of("apiVersion", "kind", "metadata", "spec", "status").contains(f)) {
        out.add(Violation.error(f, "unknown field \"" + f + "\""));
      }
    }
    check(schema.path("properties").path("spec"), spec, "spec", out);
    return out;
  }

  private static void check(JsonNode schema, JsonNode value, String path, List<Violation> out) {
    if (schema.isMissingNode()) {
      return;
    }
    if (value.isNull()) {
      if (!schema.path("nullable").asBoolean(false)) {
        // the API server drops nulls of non-nullable fields before validating; nothing to check
      }
      return;
    }
    if (!typeMatches(schema, value, path, out)) {
      return;
    }
    JsonNode en = schema.get("enum");
    if (en != null && !contains(en, value)) {
      StringBuilder sb = new StringBuilder();
      for (JsonNode e : en) {
        sb.append(sb.length() == 0 ? "" : ", ").append('"').append(e.asText()).append('"');
      }
      out.add(
          Violation.error(
              path, path + ": Unsupported value: " + quote(value) + ": supported values: " + sb));
      return;
    }
    if (value.isNumber()) {
      if (schema.has("minimum")
          && value.decimalValue().compareTo(schema.get("minimum").decimalValue()) < 0) {
        out.add(
            Violation.error(
                path,
                path
                    + ": Invalid value: "
                    + value.asText()
                    + ": "
                    + path
                    + " in body should be greater than or equal to "
                    + schema.get("minimum").asText()));
      }
      if (schema.has("maximum")
          && value.decimalValue().compareTo(schema.get("maximum").decimalValue()) > 0) {
        out.add(
            Violation.error(
                path,
                path
                    + ": Invalid value: "
                    + value.asText()
                    + ": "
                    + path
                    + " in body should be less than or equal to "
                    + schema.get("maximum").asText()));
      }
    }
    if (value.isTextual()
        && schema.has("maxLength")
        && value.asText().length() > schema.get("maxLength").asInt()) {
      out.add(
          Violation.error(
              path,
              path
                  + ": Too long: may not be more than "
                  + schema.get("maxLength").asInt()
                  + " bytes"));
    }
    if (value.isArray()) {
      if (schema.has("maxItems") && value.size() > schema.get("maxItems").asInt()) {
        out.add(
            Violation.error(
                path,
                path
                    + ": Too many: "
                    + value.size()
                    + ": must have at most "
                    + schema.get("maxItems").asInt()
                    + " items"));
      }
      if (schema.has("minItems") && value.size() < schema.get("minItems").asInt()) {
        out.add(
            Violation.error(
                path,
                path
                    + ": Invalid value: "
                    + value.size()
                    + ": "
                    + path
                    + " in body should have at least "
                    + schema.get("minItems").asInt()
                    + " items"));
      }
      listKeys(schema, value, path, out);
      for (int i = 0; i < value.size(); i++) {
        check(schema.path("items"), value.get(i), path + "[" + i + "]", out);
      }
    }
    if (value.isObject()) {
      if (schema.has("maxProperties") && value.size() > schema.get("maxProperties").asInt()) {
        out.add(
            Violation.error(
                path,
                path
                    + ": Too many: "
                    + value.size()
                    + ": must have at most "
                    + schema.get("maxProperties").asInt()
                    + " items"));
      }
      for (JsonNode r : schema.path("required")) {
        if (!value.has(r.asText()) || value.get(r.asText()).isNull()) {
          String p = path + "." + r.asText();
          out.add(Violation.error(p, p + ": Required value"));
        }
      }
      JsonNode props = schema.get("properties");
      JsonNode additional = schema.get("additionalProperties");
      boolean preserve = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean(false);
      Iterator<Map.Entry<String, JsonNode>> it = value.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        String p = path + "." + e.getKey();
        if (props != null && props.has(e.getKey())) {
          check(props.get(e.getKey()), e.getValue(), p, out);
        } else if (additional != null && additional.isObject()) {
          check(additional, e.getValue(), p, out);
        } else if (!preserve && (props != null || additional != null)) {
          out.add(Violation.error(p, "unknown field \"" + p + "\""));
        }
      }
      oneOf(schema, value, path, out);
    }
    for (JsonNode rule : schema.path("x-kubernetes-validations")) {
      BiPredicate<JsonNode, JsonNode> p = CEL.get(rule.path("rule").asText());
      if (p != null && !p.test(value, null)) {
        out.add(
            Violation.error(
                path,
                path
                    + ": Invalid value: \""
                    + typeName(value)
                    + "\": "
                    + rule.path("message").asText()));
      }
    }
  }

  /**
   * Istio's one-of groups: oneOf [not anyOf [required a, required b...], required a, required
   * b...].
   */
  private static void oneOf(JsonNode schema, JsonNode value, String path, List<Violation> out) {
    for (String key : List.of("oneOf", "anyOf")) {
      JsonNode alts = schema.get(key);
      if (alts == null) {
        continue;
      }
      int matching = 0;
      List<String> present = new ArrayList<>();
      for (JsonNode alt : alts) {
        if (satisfies(alt, value)) {
          matching++;
        }
        for (JsonNode r : alt.path("required")) {
          if (value.has(r.asText()) && !present.contains(r.asText())) {
            present.add(r.asText());
          }
        }
      }
      if (key.equals("oneOf") && matching != 1) {
        out.add(
            Violation.error(
                path,
                path
                    + ": Invalid value: \"object\": must validate one and only one schema (oneOf)"
                    + (present.size() > 1
                        ? ": set only one of " + String.join(", ", present)
                        : "")));
      } else if (key.equals("anyOf") && matching == 0) {
        out.add(
            Violation.error(
                path,
                path + ": Invalid value: \"object\": must validate at least one schema (anyOf)"));
      }
    }
    for (JsonNode sub : schema.path("allOf")) {
      oneOf(sub, value, path, out);
    }
  }

  /** Whether a value satisfies a schema made only of required / not / anyOf / oneOf / allOf. */
  private static boolean satisfies(JsonNode schema, JsonNode value) {
    for (JsonNode r : schema.path("required")) {
      if (!value.has(r.asText())) {
        return false;
      }
    }
    if (schema.has("not") && satisfies(schema.get("not"), value)) {
      return false;
    }
    if (schema.has("anyOf")) {
      boolean any = false;
      for (JsonNode a : schema.get("anyOf")) {
        any |= satisfies(a, value);
      }
      if (!any) {
        return false;
      }
    }
    if (schema.has("oneOf")) {
      int n = 0;
      for (JsonNode a : schema.get("oneOf")) {
        n += satisfies(a, value) ? 1 : 0;
      }
      if (n != 1) {
        return false;
      }
    }
    for (JsonNode a : schema.path("allOf")) {
      if (!satisfies(a, value)) {
        return false;
      }
    }
    return true;
  }

  private static void listKeys(JsonNode schema, JsonNode value, String path, List<Violation> out) {
    String type = schema.path("x-kubernetes-list-type").asText("");
    if (type.equals("map")) {
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < value.size(); i++) {
        StringBuilder key = new StringBuilder();
        StringBuilder shown = new StringBuilder();
        for (JsonNode k : schema.path("x-kubernetes-list-map-keys")) {
          JsonNode v = value.get(i).path(k.asText());
          key.append(k.asText()).append('=').append(v.asText()).append(';');
          shown
              .append(shown.length() == 0 ? "" : ",")
              .append('"')
              .append(k.asText())
              .append("\":")
              .append(v.isMissingNode() ? "null" : v.toString());
        }
        if (!seen.add(key.toString())) {
          String p = path + "[" + i + "]";
          out.add(
              Violation.error(p, p + ": Duplicate value: map[string]interface {}{" + shown + "}"));
        }
      }
    } else if (type.equals("set")) {
      Set<JsonNode> seen = new HashSet<>();
      for (int i = 0; i < value.size(); i++) {
        if (!seen.add(value.get(i))) {
          String p = path + "[" + i + "]";
          out.add(Violation.error(p, p + ": Duplicate value: " + value.get(i)));
        }
      }
    }
  }

  private static boolean typeMatches(
      JsonNode schema, JsonNode value, String path, List<Violation> out) {
    if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
      if (value.isIntegralNumber() || value.isTextual()) {
        return true;
      }
      return typeError(path, value, "integer or string", out);
    }
    String type = schema.path("type").asText("");
    boolean ok =
        switch (type) {
          case "string" -> value.isTextual();
          case "integer" ->
              value.isIntegralNumber()
                  || (value.isNumber() && value.decimalValue().stripTrailingZeros().scale() <= 0);
          case "number" -> value.isNumber();
          case "boolean" -> value.isBoolean();
          case "object" -> value.isObject();
          case "array" -> value.isArray();
          default -> true;
        };
    return ok || typeError(path, value, type, out);
  }

  private static boolean typeError(String path, JsonNode value, String type, List<Violation> out) {
    out.add(
        Violation.error(
            path,
            path
                + ": Invalid value: \""
                + typeName(value)
                + "\": "
                + path
                + " in body must be of type "
                + type
                + ": \""
                + typeName(value)
                + "\""));
    return false;
  }

  private static String typeName(JsonNode v) {
    if (v.isTextual()) {
      return "string";
    } else if (v.isIntegralNumber()) {
      return "integer";
    } else if (v.isNumber()) {
      return "number";
    } else if (v.isBoolean()) {
      return "boolean";
    } else if (v.isArray()) {
      return "array";
    }
    return v.isObject() ? "object" : "null";
  }

  private static String quote(JsonNode v) {
    return v.isTextual() ? "\"" + v.asText() + "\"" : v.toString();
  }

  private static boolean contains(JsonNode en, JsonNode value) {
    for (JsonNode e : en) {
      if (e.asText().equals(value.asText())) {
        return true;
      }
    }
    return false;
  }

  private static boolean noKey(JsonNode obj, Predicate<String> bad) {
    Iterator<String> it = obj.fieldNames();
    while (it.hasNext()) {
      if (bad.test(it.next())) {
        return false;
      }
    }
    return true;
  }

  private static int count(JsonNode obj, String... fields) {
    int n = 0;
    for (String f : fields) {
      n += obj.has(f) && !obj.get(f).isNull() ? 1 : 0;
    }
    return n;
  }

  private static JsonNode loadSchemas() {
    ObjectNode all = new ObjectMapper().createObjectNode();
    for (String name : List.of(RESOURCE, SECURITY_RESOURCE)) {
      try (InputStream in = SchemaValidator.class.getResourceAsStream(name)) {
        if (in == null) {
          throw new IllegalStateException("missing resource " + name);
        }
        all.setAll((ObjectNode) new ObjectMapper().readTree(in));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return all;
  }
}
