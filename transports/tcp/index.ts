/**
 * `statewire/tcp`: TCP and TLS (issue 14). One section per part of the issue.
 */

// Certificates (§3): a development CA with server and client certificates for (mutual) TLS.
export {
  createDevCertificates,
  writeDevCertificates,
  DEV_CERTIFICATE_FILES,
  type DevCertificates,
  type DevCertificatesOptions,
  type DevCertificatePaths,
  type PemPair,
} from './certs.js';
