// node-forge's own modules, imported one by one (see ca.ts); each exports its part of the forge namespace.
declare module 'node-forge/lib/asn1.js' {
  import type forge from 'node-forge';
  // fromDer takes an options object too (forge's own source); its type definitions know only `strict`.
  const asn1: typeof forge.asn1 & {
    fromDer(bytes: string, options: { decodeBitStrings?: boolean; strict?: boolean }): forge.asn1.Asn1;
  };
  export default asn1;
}
