package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Validates one object as {@code kubectl apply} would against a cluster with Istio: the API
 * server's metadata checks, then the CRD schema, then (only if the schema passed, as the webhook is
 * only called then) Istio's validating webhook. Errors are IST0106 SchemaValidationError, warnings
 * IST0133 SchemaWarning, each pointing at the line of the field concerned.
 */
public final class Validator {

  private static final Pattern DNS1123_SUBDOMAIN =
      Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

  private Validator() {}

  public static List<Diagnostic> validate(Resource r) {
    boolean authz = r.group().equals("security.istio.io") && r.kind().equals("AuthorizationPolicy");
    if (r.group().equals("gateway.networking.k8s.io")
        || (r.group().equals("security.istio.io") && !authz)) {
      return List.of(); // read for analysis only
    }
    List<Violation> vs = new ArrayList<>(metadata(r));
    boolean istio =
        (r.group().equals("networking.istio.io") || authz) && SchemaValidator.supports(r.kind());
    if (istio && vs.isEmpty()) {
      List<Violation> schema = SchemaValidator.validate(r.kind(), r.object());
      vs.addAll(schema);
      if (schema.stream().noneMatch(Violation::isError)) {
        vs.addAll(IstioValidator.validate(r.kind(), r.object()));
      }
    }
    if (r.kind().equals("Service") && r.group().isEmpty()) {
      JsonNode ports = r.spec().path("ports");
      for (int i = 0; i < ports.size(); i++) {
        long p = ports.get(i).path("port").asLong(0);
        if (p < 1 || p > 65535) {
          String path = "spec.ports[" + i + "].port";
          vs.add(
              Violation.error(
                  path,
                  path + ": Invalid value: " + p + ": must be between 1 and 65535, inclusive"));
        }
      }
    }
    List<Diagnostic> out = new ArrayList<>();
    for (Violation v : vs) {
      String code = v.code() != null ? v.code() : v.isError() ? "IST0106" : "IST0133";
      String text =
          v.code() != null
              ? v.text()
              : (v.isError() ? "Schema validation error: " : "Schema validation warning: ")
                  + v.text();
      out.add(r.diagnostic(v.level(), code, v.path(), text));
    }
    return out;
  }

  private static List<Violation> metadata(Resource r) {
    List<Violation> out = new ArrayList<>();
    JsonNode meta = r.object().path("metadata");
    if (!meta.isObject()) {
      out.add(Violation.error("metadata", "metadata: Required value"));
      return out;
    }
    String name = meta.path("name").asText("");
    if (name.isEmpty()) {
      out.add(
          Violation.error(
              "metadata.name", "metadata.name: Required value: name or generateName is required"));
    } else if (name.length() > 253 || !DNS1123_SUBDOMAIN.matcher(name).matches()) {
      out.add(
          Violation.error(
              "metadata.name",
              "metadata.name: Invalid value: \""
                  + name
                  + "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.',"
                  + " and must start and end with an alphanumeric character"));
    }
    String ns = meta.path("namespace").asText("");
    if (!ns.isEmpty() && !ns.matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")) {
      out.add(
          Violation.error(
              "metadata.namespace",
              "metadata.namespace: Invalid value: \""
                  + ns
                  + "\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"));
    }
    return out;
  }
}
