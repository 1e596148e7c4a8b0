package io.shopmesh.mesh.istiod.webhook;

import io.shopmesh.mesh.istiod.ca.Certificates;
import io.shopmesh.mesh.istiod.ca.Pem;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/**
 * The webhooks' serving certificate, as istiod makes it when no cert-manager is involved: a
 * self-signed CA created at start and a serving certificate for the istiod Service's DNS names. The
 * CA's PEM is the {@code caBundle} patched into the webhook configurations.
 */
public final class WebhookCertificates {

  private final X509Certificate ca;
  private final X509Certificate serving;
  private final PrivateKey servingKey;

  private WebhookCertificates(X509Certificate ca, X509Certificate serving, PrivateKey key) {
    this.ca = ca;
    this.serving = serving;
    this.servingKey = key;
  }

  /** A new CA and a serving certificate for {@code dnsNames}, valid for a year. */
  public static WebhookCertificates create(List<String> dnsNames) {
    return create("istiod webhook CA", dnsNames);
  }

  /** A new CA named {@code caCommonName} and a serving certificate for {@code dnsNames}. */
  public static WebhookCertificates create(String caCommonName, List<String> dnsNames) {
    try {
      KeyPairGenerator kpg = KeyPairGenerator.getInstance("RSA");
      kpg.initialize(2048);
      KeyPair caKeys = kpg.generateKeyPair();
      Instant now = Instant.now();
      Date from = Date.from(now.minus(Duration.ofMinutes(5)));
      Date to = Date.from(now.plus(Duration.ofDays(365)));
      X500Name caName = new X500Name("O=cluster.local,CN=" + caCommonName);
      X509v3CertificateBuilder cab =
          new JcaX509v3CertificateBuilder(caName, serial(), from, to, caName, caKeys.getPublic());
      cab.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      cab.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      X509Certificate ca = sign(cab, caKeys.getPrivate());

      KeyPair keys = kpg.generateKeyPair();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              caName, serial(), from, to, new X500Name("CN=" + dnsNames.get(0)), keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      GeneralName[] names =
          dnsNames.stream()
              .map(n -> new GeneralName(GeneralName.dNSName, n))
              .toArray(GeneralName[]::new);
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
      return new WebhookCertificates(ca, sign(b, caKeys.getPrivate()), keys.getPrivate());
    } catch (Exception e) {
      throw new IllegalStateException("cannot create the webhook certificates: " + e, e);
    }
  }

  /** The DNS names a webhook Service is called by: name.ns.svc and its shorter forms. */
  public static List<String> serviceNames(String service, String namespace) {
    return List.of(
        service + "." + namespace + ".svc",
        service + "." + namespace + ".svc.cluster.local",
        service + "." + namespace,
        service);
  }

  public X509Certificate ca() {
    return ca;
  }

  /** The CA as PEM, the form of a webhook configuration's {@code caBundle} (base64 of it). */
  public String caPem() {
    return Pem.certificate(ca);
  }

  /** The serving certificate as PEM (a Secret's {@code tls.crt}). */
  public String servingPem() {
    return Pem.certificate(serving);
  }

  /** The serving key as PKCS#8 PEM (a Secret's {@code tls.key}). */
  public String servingKeyPem() {
    return Pem.privateKey(servingKey);
  }

  public SSLContext serverContext() {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      char[] pw = "webhook".toCharArray();
      ks.setKeyEntry("webhook", servingKey, pw, new Certificate[] {serving, ca});
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, pw);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, new SecureRandom());
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException("cannot build the webhook TLS context: " + e, e);
    }
  }

  private static BigInteger serial() {
    return Certificates.serial();
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws Exception {
    return Certificates.sign(b, key);
  }
}
