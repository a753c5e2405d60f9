// The enrolment QR code, made here from the otpauth:// URI so the URI never leaves the server as
// text: the console gets only the modules, as one SVG path (`M x y h1 v1 h-1 z` per dark module,
// a four-module quiet zone included), and draws it itself. No network, no service.
import { encode } from 'uqr';

export interface QrCodeDrawing {
  /** Modules per side, the quiet zone included: the SVG's viewBox is `0 0 size size`. */
  size: number;
  path: string;
}

export function qrCodeDrawing(text: string): QrCodeDrawing {
  const { data, size } = encode(text, { ecc: 'M', border: 4 });
  const parts: string[] = [];
  data.forEach((row, y) => row.forEach((dark, x) => dark && parts.push(`M${x} ${y}h1v1h-1z`)));
  return { size, path: parts.join('') };
}
