// node-forge's own modules, imported one by one (see ca.ts); each exports its part of the forge namespace.
declare module 'node-forge/lib/x509.js' {
  import type forge from 'node-forge';
  const pki: typeof forge.pki;
  export default pki;
}
declare module 'node-forge/lib/asn1.js' {
  import type forge from 'node-forge';
  const asn1: typeof forge.asn1;
  export default asn1;
}
