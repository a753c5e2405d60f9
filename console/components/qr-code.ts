// The enrolment QR code, drawn from the modules the server computed (one SVG path): no image is
// fetched and no markup is parsed, and the otpauth:// URI it encodes never reaches the page as text.
import { svg } from '../dom.ts';

export function qrCodeImage(qr: { size: number; path: string }, label: string): SVGSVGElement {
  return svg(
    'svg',
    { class: 'qr-code', viewBox: `0 0 ${qr.size} ${qr.size}`, role: 'img', 'aria-label': label, 'shape-rendering': 'crispEdges' },
    svg('rect', { width: qr.size, height: qr.size, fill: '#fff' }),
    svg('path', { d: qr.path, fill: '#000' }),
  );
}
