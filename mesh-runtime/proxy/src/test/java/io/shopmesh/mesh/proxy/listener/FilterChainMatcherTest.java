package io.shopmesh.mesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.shopmesh.mesh.proxy.listener.FilterChainMatcher.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Envoy's filter_chain_match selection, with the examples of Envoy's documentation. */
class FilterChainMatcherTest {

  static FilterChain chain(String name, FilterChainMatch.Builder m) {
    return FilterChain.newBuilder().setName(name).setFilterChainMatch(m).build();
  }

  static FilterChainMatch.Builder match() {
    return FilterChainMatch.newBuilder();
  }

  static CidrRange cidr(String ip, int len) {
    return CidrRange.newBuilder().setAddressPrefix(ip).setPrefixLen(UInt32Value.of(len)).build();
  }

  static String pick(Listener l, Connection c) {
    FilterChain fc = FilterChainMatcher.select(l, c);
    return fc == null ? null : fc.getName();
  }

  static Connection to(String ip, int port) {
    return Connection.plain(ip, port, "10.1.1.1", 40000);
  }

  @Test
  void serverNamesExactBeforeWildcardLongestWildcardFirst() {
    // Envoy's docs: www.example.com picks the exact chain, foo.example.com the *.example.com one,
    // a.b.example.com the longer *.b.example.com; a name matching nothing takes the chain without
    // server_names
    Listener l =
        Listener.newBuilder()
            .addFilterChains(chain("exact", match().addServerNames("www.example.com")))
            .addFilterChains(chain("wild", match().addServerNames("*.example.com")))
            .addFilterChains(chain("wild-b", match().addServerNames("*.b.example.com")))
            .addFilterChains(chain("none", match()))
            .build();
    Connection c = to("10.0.0.1", 443);
    assertThat(pick(l, c.withTls("www.example.com", List.of()))).isEqualTo("exact");
    assertThat(pick(l, c.withTls("WWW.Example.com", List.of()))).isEqualTo("exact");
    assertThat(pick(l, c.withTls("foo.example.com", List.of()))).isEqualTo("wild");
    assertThat(pick(l, c.withTls("a.b.example.com", List.of()))).isEqualTo("wild-b");
    assertThat(pick(l, c.withTls("b.example.com", List.of()))).isEqualTo("wild");
    assertThat(pick(l, c.withTls("example.com", List.of()))).isEqualTo("none");
    assertThat(pick(l, c.withTls("other.org", List.of()))).isEqualTo("none");
    assertThat(pick(l, c)).isEqualTo("none");
  }

  @Test
  void destinationPortIsDecidedBeforeServerName() {
    // a chain for the port without server names wins over a chain with the SNI for another port
    Listener l =
        Listener.newBuilder()
            .addFilterChains(
                chain(
                    "sni-9000",
                    match()
                        .setDestinationPort(UInt32Value.of(9000))
                        .addServerNames("a.example.com")))
            .addFilterChains(chain("port-443", match().setDestinationPort(UInt32Value.of(443))))
            .addFilterChains(chain("any", match().addServerNames("a.example.com")))
            .build();
    Connection tls = to("10.0.0.1", 443).withTls("a.example.com", List.of());
    assertThat(pick(l, tls)).isEqualTo("port-443");
    assertThat(pick(l, to("10.0.0.1", 9000).withTls("a.example.com", List.of())))
        .isEqualTo("sni-9000");
    assertThat(pick(l, to("10.0.0.1", 8000).withTls("a.example.com", List.of()))).isEqualTo("any");
    // port 8000 without SNI: only the chain with server names is left for the port, and it does
    // not match: no chain
    assertThat(pick(l, to("10.0.0.1", 8000))).isNull();
  }

  @Test
  void longestDestinationPrefixWins() {
    Listener l =
        Listener.newBuilder()
            .addFilterChains(chain("slash8", match().addPrefixRanges(cidr("10.0.0.0", 8))))
            .addFilterChains(chain("slash24", match().addPrefixRanges(cidr("10.1.2.0", 24))))
            .addFilterChains(chain("slash32", match().addPrefixRanges(cidr("10.1.2.3", 32))))
            .addFilterChains(chain("unset", match()))
            .build();
    assertThat(pick(l, to("10.1.2.3", 80))).isEqualTo("slash32");
    assertThat(pick(l, to("10.1.2.4", 80))).isEqualTo("slash24");
    assertThat(pick(l, to("10.9.9.9", 80))).isEqualTo("slash8");
    assertThat(pick(l, to("192.168.0.1", 80))).isEqualTo("unset");
  }

  @Test
  void transportProtocolThenApplicationProtocols() {
    // Istio's inbound shape: TLS with istio ALPN, TLS without, plain text
    Listener l =
        Listener.newBuilder()
            .addFilterChains(
                chain(
                    "mtls",
                    match()
                        .setTransportProtocol("tls")
                        .addApplicationProtocols("istio-peer-exchange")
                        .addApplicationProtocols("istio")))
            .addFilterChains(chain("tls", match().setTransportProtocol("tls")))
            .addFilterChains(chain("plain", match().setTransportProtocol("raw_buffer")))
            .build();
    Connection c = to("10.0.0.1", 8080);
    assertThat(pick(l, c)).isEqualTo("plain");
    assertThat(pick(l, c.withTls("", List.of("istio", "h2")))).isEqualTo("mtls");
    assertThat(pick(l, c.withTls("x", List.of("h2")))).isEqualTo("tls");
    // a listener with only a TLS chain: plain text matches nothing
    Listener tlsOnly =
        Listener.newBuilder()
            .addFilterChains(chain("tls", match().setTransportProtocol("tls")))
            .build();
    assertThat(pick(tlsOnly, c)).isNull();
  }

  @Test
  void defaultFilterChainWhenNothingMatchesElseNone() {
    Listener.Builder b =
        Listener.newBuilder()
            .addFilterChains(chain("p80", match().setDestinationPort(UInt32Value.of(80))));
    assertThat(pick(b.build(), to("10.0.0.1", 81))).isNull();
    b.setDefaultFilterChain(FilterChain.newBuilder().setName("PassthroughFilterChain"));
    assertThat(pick(b.build(), to("10.0.0.1", 81))).isEqualTo("PassthroughFilterChain");
    assertThat(pick(b.build(), to("10.0.0.1", 80))).isEqualTo("p80");
  }

  @Test
  void sourceTypeThenSourcePrefixThenSourcePort() {
    Listener l =
        Listener.newBuilder()
            .addFilterChains(
                chain(
                    "local",
                    match()
                        .setSourceType(FilterChainMatch.ConnectionSourceType.SAME_IP_OR_LOOPBACK)))
            .addFilterChains(
                chain(
                    "external-10",
                    match()
                        .setSourceType(FilterChainMatch.ConnectionSourceType.EXTERNAL)
                        .addSourcePrefixRanges(cidr("10.0.0.0", 8))))
            .addFilterChains(
                chain(
                    "external-port",
                    match()
                        .setSourceType(FilterChainMatch.ConnectionSourceType.EXTERNAL)
                        .addSourcePorts(5555)))
            .addFilterChains(
                chain(
                    "external",
                    match().setSourceType(FilterChainMatch.ConnectionSourceType.EXTERNAL)))
            .build();
    assertThat(pick(l, Connection.plain("10.0.0.1", 80, "127.0.0.1", 1))).isEqualTo("local");
    assertThat(pick(l, Connection.plain("10.0.0.1", 80, "10.0.0.1", 1))).isEqualTo("local");
    assertThat(pick(l, Connection.plain("10.0.0.1", 80, "10.2.2.2", 1))).isEqualTo("external-10");
    assertThat(pick(l, Connection.plain("10.0.0.1", 80, "172.16.0.1", 5555)))
        .isEqualTo("external-port");
    assertThat(pick(l, Connection.plain("10.0.0.1", 80, "172.16.0.1", 1))).isEqualTo("external");
  }

  @Test
  void tiesAreVisibleAsSeveralCandidates() {
    List<FilterChain> chains =
        List.of(
            chain("a", match().setDestinationPort(UInt32Value.of(80))),
            chain("b", match().setDestinationPort(UInt32Value.of(80))));
    assertThat(FilterChainMatcher.candidates(chains, to("10.0.0.1", 80))).hasSize(2);
  }
}
