package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.ExportTo;
import io.shopmesh.mesh.config.Resource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Istio's serviceentry.* analyzers. */
final class ServiceEntryAnalyzers {

  private ServiceEntryAnalyzers() {}

  /** IST0134: a TCP (or protocol-less) port without addresses cannot be told apart by the proxy. */
  static final class ProtocolAddresses implements Analyzer {
    @Override
    public String name() {
      return "serviceentry.ProtocolAddressesAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      if (ctx.dnsAutoAllocate()) {
        return;
      }
      for (Resource se : ctx.istio("ServiceEntry")) {
        if (se.spec().has("addresses") || !se.object().path("status").path("addresses").isEmpty()) {
          continue;
        }
        JsonNode ports = se.spec().path("ports");
        for (int i = 0; i < ports.size(); i++) {
          String proto = ports.get(i).path("protocol").asText("");
          if (proto.isEmpty() || proto.equalsIgnoreCase("TCP")) {
            out.add(Messages.serviceEntryAddressesRequired(se, "spec.ports[" + i + "]"));
          }
        }
      }
    }
  }

  /** IST0177: ServiceEntries visible together give one host and port different protocols. */
  static final class ConflictingProtocol implements Analyzer {
    @Override
    public String name() {
      return "serviceentry.ConflictingServiceEntryProtocolAnalyzer";
    }

    private record Entry(String protocol, Resource se) {}

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      Map<String, List<Entry>> index = new LinkedHashMap<>();
      for (Resource se : ctx.istio("ServiceEntry")) {
        Set<String> scopes =
            ExportTo.scopes(ExportTo.of(se.spec().path("exportTo")), se.namespace());
        for (String scope : scopes) {
          for (JsonNode h : se.spec().path("hosts")) {
            for (JsonNode p : se.spec().path("ports")) {
              index
                  .computeIfAbsent(
                      scope + "|" + h.asText() + "|" + p.path("number").asLong(),
                      k -> new ArrayList<>())
                  .add(new Entry(p.path("protocol").asText(""), se));
            }
          }
        }
      }
      Set<String> reported = new HashSet<>();
      for (Map.Entry<String, List<Entry>> e : index.entrySet()) {
        String[] key = e.getKey().split("\\|");
        List<Entry> entries = new ArrayList<>(e.getValue());
        if (!key[0].equals("*")) {
          entries.addAll(index.getOrDefault("*|" + key[1] + "|" + key[2], List.of()));
        }
        Set<String> protocols = new TreeSet<>();
        entries.forEach(x -> protocols.add(x.protocol().toUpperCase(Locale.ROOT)));
        if (protocols.size() < 2) {
          continue;
        }
        Set<String> names = new TreeSet<>();
        entries.forEach(x -> names.add(x.se().id()));
        for (Entry x : entries) {
          if (reported.add(x.se().id())) {
            out.add(
                Messages.conflictingServiceEntryProtocol(
                    x.se(),
                    String.join(", ", names),
                    key[1],
                    Long.parseLong(key[2]),
                    String.join(", ", protocols)));
          }
        }
      }
    }
  }
}
