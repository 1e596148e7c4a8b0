package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class IpAllocatorTest {

  @Test
  void gatewayAndProviderHaveFixedAddressesPodsCountFromEleven() {
    IpAllocator ips = new IpAllocator("127.0.1");
    assertThat(ips.gateway()).isEqualTo("127.0.1.1");
    assertThat(ips.paymentProvider()).isEqualTo("127.0.1.2");
    assertThat(ips.nextPod()).isEqualTo("127.0.1.11");
    assertThat(ips.nextPod()).isEqualTo("127.0.1.12");
  }

  @Test
  void runsOutAfterTheSubnet() {
    IpAllocator ips = new IpAllocator("127.0.9");
    for (int i = IpAllocator.FIRST_POD_HOST; i <= IpAllocator.LAST_POD_HOST; i++) {
      ips.nextPod();
    }
    assertThatThrownBy(ips::nextPod).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void subnetMustBeLoopback() {
    assertThatThrownBy(() -> new IpAllocator("10.0.0"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new IpAllocator("127.0")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void loopbackAddressesAreBindableOnLinux() {
    assertThat(IpAllocator.bindable("127.0.0.1")).isTrue();
  }
}
