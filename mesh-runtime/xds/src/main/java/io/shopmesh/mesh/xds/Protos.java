package io.shopmesh.mesh.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shopmesh.mesh.config.validation.GoDuration;

/** Small builders for protobuf values that every xDS builder needs. */
final class Protos {

  private Protos() {}

  /**
   * A Go/Istio duration ({@code 5s}, {@code 500ms}, {@code 1m30s}, {@code 1.5s}) as the validator
   * reads it ({@link GoDuration}), so that what {@code analyze} accepts also translates.
   */
  static Duration duration(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty duration");
    }
    var d =
        GoDuration.parse(text.trim())
            .orElseThrow(() -> new IllegalArgumentException("bad duration: " + text));
    if (d.isNegative()) {
      throw new IllegalArgumentException("negative duration: " + text);
    }
    return Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
  }

  /** The upstream HttpProtocolOptions (typed_extension_protocol_options), not the core one. */
  static HttpProtocolOptions.Builder upstreamHttpOptions() {
    return HttpProtocolOptions.newBuilder();
  }

  /** The upstream HttpProtocolOptions packed in a cluster's typed_extension_protocol_options. */
  static HttpProtocolOptions.Builder upstreamHttpOptions(Any packed) {
    try {
      return packed.unpack(HttpProtocolOptions.class).toBuilder();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("not an upstream HttpProtocolOptions", e);
    }
  }

  static Duration seconds(long s) {
    return Duration.newBuilder().setSeconds(s).build();
  }

  static final Duration ZERO = Duration.getDefaultInstance();

  static UInt32Value u32(long v) {
    return UInt32Value.of((int) v);
  }

  static BoolValue bool(boolean b) {
    return BoolValue.of(b);
  }

  static Any any(Message m) {
    return Any.pack(m);
  }

  static Address address(String ip, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
        .build();
  }

  /** {@code ads: {}, initial_fetch_timeout: 0s, resource_api_version: V3}, as Istio sets it. */
  static ConfigSource ads() {
    return ConfigSource.newBuilder()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .setInitialFetchTimeout(ZERO)
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }

  /** Istio's translatePercentToFractionalPercent: percent x 10000 per million. */
  static FractionalPercent percent(double p) {
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(p * 10000))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  /** Istio's translateIntegerToFractionalPercent: n per hundred. */
  static FractionalPercent integerPercent(int n) {
    return FractionalPercent.newBuilder()
        .setNumerator(n)
        .setDenominator(FractionalPercent.DenominatorType.HUNDRED)
        .build();
  }

  static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  static Value num(double d) {
    return Value.newBuilder().setNumberValue(d).build();
  }

  static Value struct(Struct s) {
    return Value.newBuilder().setStructValue(s).build();
  }

  static Value list(Value... vs) {
    ListValue.Builder b = ListValue.newBuilder();
    for (Value v : vs) {
      b.addValues(v);
    }
    return Value.newBuilder().setListValue(b).build();
  }
}
