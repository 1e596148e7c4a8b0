package io.shopmesh.mesh.meshctl.envoy;

import static io.shopmesh.mesh.meshctl.envoy.ConfigDump.field;
import static io.shopmesh.mesh.meshctl.envoy.ConfigDump.path;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.meshctl.render.Table;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.IstioMetadata;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The short tables of {@code istioctl proxy-config}, same columns, from Envoy resources. */
public final class ProxyConfigView {

  private ProxyConfigView() {}

  // ---- routes: NAME  VHOST NAME  DOMAINS  MATCH  VIRTUAL SERVICE

  public static String routes(List<JsonNode> routeConfigs) {
    Table t = new Table("NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE");
    for (JsonNode rc : routeConfigs) {
      String name = field(rc, "name").asText("");
      for (JsonNode vh : field(rc, "virtual_hosts")) {
        String vhName = field(vh, "name").asText("");
        String domains = domains(field(vh, "domains"));
        JsonNode routes = field(vh, "routes");
        if (routes.isEmpty()) {
          t.row(name, vhName, domains, "", "");
        }
        for (JsonNode r : routes) {
          t.row(name, vhName, domains, match(field(r, "match")), virtualService(r));
        }
      }
    }
    return t.render();
  }

  /**
   * istioctl's summary of a virtual host's domains (describeRouteDomains): the ones without a port
   * (the host:port forms add nothing), less the expanded forms of names also listed short
   * (unexpandDomains), the first two, then "+ N more...".
   */
  static String domains(JsonNode domains) {
    List<String> all = new ArrayList<>();
    domains.forEach(d -> all.add(d.asText()));
    if (all.size() <= 1) {
      return String.join(", ", all);
    }
    List<String> withoutPort = new ArrayList<>();
    for (String d : all) {
      // IPv6 literals have colons of their own: [fd00::1] and [fd00::1]:8080
      boolean hasPort = d.startsWith("[") ? d.contains("]:") : d.contains(":");
      if (!hasPort) {
        withoutPort.add(d);
      }
    }
    withoutPort = unexpand(withoutPort);
    if (withoutPort.size() <= 2) {
      return String.join(", ", withoutPort);
    }
    return withoutPort.get(0)
        + ", "
        + withoutPort.get(1)
        + " + "
        + (withoutPort.size() - 2)
        + " more...";
  }

  /**
   * istioctl's unexpandDomains: drops {@code x.svc.cluster.local} and {@code x.svc} when {@code x}
   * is listed too, keeping the order.
   */
  static List<String> unexpand(List<String> domains) {
    Set<String> unique = new HashSet<>(domains);
    List<String> out = new ArrayList<>();
    for (String h : domains) {
      String full = stripSuffix(h, ".svc.cluster.local");
      String partial = stripSuffix(h, ".svc");
      boolean expanded =
          (!full.equals(h) && unique.contains(full))
              || (!partial.equals(h) && unique.contains(partial));
      if (!expanded) {
        out.add(h);
      }
    }
    return out;
  }

  private static String stripSuffix(String s, String suffix) {
    return s.endsWith(suffix) ? s.substring(0, s.length() - suffix.length()) : s;
  }

  static String match(JsonNode m) {
    String path;
    if (!field(m, "prefix").isMissingNode()) {
      path = field(m, "prefix").asText() + "*";
    } else if (!field(m, "path").isMissingNode()) {
      path = field(m, "path").asText();
    } else if (!path(m, "safe_regex", "regex").isMissingNode()) {
      path = path(m, "safe_regex", "regex").asText();
    } else if (!field(m, "path_separated_prefix").isMissingNode()) {
      path = field(m, "path_separated_prefix").asText() + "/*";
    } else {
      path = "/*";
    }
    List<String> headers = new ArrayList<>();
    for (JsonNode h : field(m, "headers")) {
      String name = field(h, "name").asText();
      JsonNode sm = field(h, "string_match");
      String v =
          !field(sm, "exact").isMissingNode()
              ? "=" + field(sm, "exact").asText()
              : !field(sm, "prefix").isMissingNode()
                  ? "=" + field(sm, "prefix").asText() + "*"
                  : !path(sm, "safe_regex", "regex").isMissingNode()
                      ? "~" + path(sm, "safe_regex", "regex").asText()
                      : !field(h, "exact_match").isMissingNode()
                          ? "=" + field(h, "exact_match").asText()
                          : !field(h, "present_match").isMissingNode() ? " present" : "";
      headers.add(name + v);
    }
    return headers.isEmpty() ? path : path + " [" + String.join(", ", headers) + "]";
  }

  /** The VirtualService a route came from, from Istio's route metadata: name.namespace. */
  static String virtualService(JsonNode route) {
    String cfg =
        path(route, "metadata", "filter_metadata", IstioMetadata.ISTIO, IstioMetadata.CONFIG)
            .asText("");
    return istioConfigName(cfg);
  }

  /**
   * /apis/networking.istio.io/v1/namespaces/default/virtual-service/product-vs ->
   * product-vs.default
   */
  static String istioConfigName(String cfg) {
    if (cfg.isEmpty()) {
      return "";
    }
    String[] parts = cfg.split("/");
    int ns = -1;
    for (int i = 0; i < parts.length; i++) {
      if (parts[i].equals("namespaces")) {
        ns = i + 1;
      }
    }
    if (ns > 0 && ns + 2 < parts.length) {
      return parts[ns + 2] + "." + parts[ns];
    }
    return cfg;
  }

  // ---- clusters: SERVICE FQDN  PORT  SUBSET  DIRECTION  TYPE  DESTINATION RULE

  public record ClusterName(String fqdn, String port, String subset, String direction) {
    /** Istio's cluster names: direction|port|subset|fqdn; anything else is a plain name. */
    public static ClusterName parse(String name) {
      ClusterNames.Parsed p = ClusterNames.parse(name);
      if (p != null) {
        return new ClusterName(
            p.host(),
            Integer.toString(p.port()),
            p.subset() == null ? "-" : p.subset(),
            p.direction());
      }
      return new ClusterName(name, "-", "-", "-");
    }
  }

  public static String clusters(List<JsonNode> clusters) {
    Table t = new Table("SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE");
    for (JsonNode c : clusters) {
      ClusterName n = ClusterName.parse(field(c, "name").asText(""));
      String type = field(c, "type").asText("");
      if (type.isEmpty()) {
        type =
            field(c, "cluster_type").isMissingNode()
                ? "STATIC"
                : field(field(c, "cluster_type"), "name").asText("CUSTOM");
      }
      String dr =
          istioConfigName(
              path(c, "metadata", "filter_metadata", IstioMetadata.ISTIO, IstioMetadata.CONFIG)
                  .asText(""));
      t.row(n.fqdn(), n.port(), n.subset(), n.direction(), type, dr);
    }
    return t.render();
  }

  // ---- listeners: ADDRESSES  PORT  MATCH  DESTINATION

  public static String listeners(List<JsonNode> listeners) {
    Table t = new Table("ADDRESSES", "PORT", "MATCH", "DESTINATION");
    for (JsonNode l : listeners) {
      JsonNode sa = path(l, "address", "socket_address");
      String addr = field(sa, "address").asText("");
      String port = field(sa, "port_value").asText("0");
      JsonNode chains = field(l, "filter_chains");
      if (chains.isEmpty() && field(l, "default_filter_chain").isMissingNode()) {
        t.row(addr, port, "ALL", "");
      }
      for (JsonNode fc : chains) {
        t.row(addr, port, chainMatch(field(fc, "filter_chain_match")), destination(fc));
      }
      JsonNode def = field(l, "default_filter_chain");
      if (!def.isMissingNode()) {
        t.row(addr, port, "ALL", destination(def));
      }
    }
    return t.render();
  }

  static String chainMatch(JsonNode m) {
    if (m.isMissingNode() || m.isEmpty()) {
      return "ALL";
    }
    List<String> parts = new ArrayList<>();
    if (!field(m, "destination_port").isMissingNode()) {
      parts.add("Port: " + field(m, "destination_port").asText());
    }
    if (!field(m, "server_names").isMissingNode()) {
      parts.add("SNI: " + join(field(m, "server_names")));
    }
    if (!field(m, "transport_protocol").isMissingNode()) {
      parts.add("Trans: " + field(m, "transport_protocol").asText());
    }
    if (!field(m, "application_protocols").isMissingNode()) {
      parts.add("App: " + join(field(m, "application_protocols")));
    }
    if (!field(m, "prefix_ranges").isMissingNode()) {
      List<String> r = new ArrayList<>();
      for (JsonNode p : field(m, "prefix_ranges")) {
        r.add(field(p, "address_prefix").asText() + "/" + field(p, "prefix_len").asText("32"));
      }
      parts.add("Addr: " + String.join(",", r));
    }
    return parts.isEmpty() ? "ALL" : String.join("; ", parts);
  }

  static String destination(JsonNode chain) {
    for (JsonNode f : field(chain, "filters")) {
      String name = field(f, "name").asText("");
      JsonNode cfg = field(f, "typed_config");
      if (name.contains("http_connection_manager")) {
        JsonNode rds = field(cfg, "rds");
        if (!rds.isMissingNode()) {
          return "Route: " + field(rds, "route_config_name").asText();
        }
        JsonNode rc = field(cfg, "route_config");
        if (!rc.isMissingNode()) {
          Set<String> clusters = new LinkedHashSet<>();
          for (JsonNode vh : field(rc, "virtual_hosts")) {
            for (JsonNode r : field(vh, "routes")) {
              String c = path(r, "route", "cluster").asText("");
              if (!c.isEmpty()) {
                clusters.add(c);
              }
            }
          }
          return clusters.size() == 1
              ? "Inline Route: " + clusters.iterator().next()
              : "Inline Route: " + field(rc, "name").asText("");
        }
        return "HTTP";
      }
      if (name.contains("tcp_proxy")) {
        return "Cluster: " + field(cfg, "cluster").asText("");
      }
    }
    return "Non-HTTP/Non-TCP";
  }

  private static String join(JsonNode arr) {
    List<String> out = new ArrayList<>();
    arr.forEach(n -> out.add(n.asText()));
    return String.join(",", out);
  }

  // ---- endpoints: ENDPOINT  STATUS  OUTLIER CHECK  CLUSTER

  /** From {@code /clusters?format=json} (envoy.admin.v3.Clusters), as istioctl reads it. */
  public static String endpointsFromClusters(JsonNode clusters) {
    Table t = new Table("ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER");
    for (JsonNode cs : field(clusters, "cluster_statuses")) {
      String cluster = field(cs, "name").asText("");
      for (JsonNode h : field(cs, "host_statuses")) {
        JsonNode sa = path(h, "address", "socket_address");
        JsonNode hs = field(h, "health_status");
        String status = field(hs, "eds_health_status").asText("HEALTHY");
        boolean ejected = field(hs, "failed_outlier_check").asBoolean(false);
        t.row(
            field(sa, "address").asText() + ":" + field(sa, "port_value").asText(),
            status,
            ejected ? "FAILED" : "OK",
            cluster);
      }
    }
    return t.render();
  }

  /** From the config dump's EndpointsConfigDump (ClusterLoadAssignments). */
  public static String endpointsFromAssignments(List<JsonNode> assignments) {
    Table t = new Table("ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER");
    for (JsonNode cla : assignments) {
      String cluster = field(cla, "cluster_name").asText("");
      for (JsonNode locality : field(cla, "endpoints")) {
        for (JsonNode lb : field(locality, "lb_endpoints")) {
          JsonNode sa = path(lb, "endpoint", "address", "socket_address");
          String status = field(lb, "health_status").asText("HEALTHY");
          t.row(
              field(sa, "address").asText() + ":" + field(sa, "port_value").asText(),
              status.equals("UNKNOWN") ? "HEALTHY" : status,
              "OK",
              cluster);
        }
      }
    }
    return t.render();
  }
}
