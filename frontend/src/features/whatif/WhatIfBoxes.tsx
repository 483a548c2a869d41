// The boxes of a what-if detection drawn over the uploaded image: one colour per class, labels kept
// inside the image (lib/boxes), the hovered box filled and the others dimmed.
import { truncateLabel } from "../../format";
import { labelPosition } from "../../lib/boxes";
import { classColor, type ShownBox } from "./whatif";

export function WhatIfBoxes({
  boxes,
  width,
  height,
  classes,
  hover,
  onHover,
}: {
  boxes: ShownBox[];
  width: number;
  height: number;
  classes: readonly string[];
  hover: number | null;
  onHover: (index: number | null) => void;
}) {
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  const font = Math.max(h, w * 0.75) / 32;
  // The hovered box last, so it is drawn on top.
  const ordered = [...boxes].sort((a, b) => Number(a.index === hover) - Number(b.index === hover));
  return (
    <svg viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" className="box-overlay" data-testid="whatif-overlay">
      {ordered.map(({ box, index }) => {
        const color = classColor(box.label, classes);
        const hi = hover === index;
        const dim = hover !== null && !hi;
        const text = `${truncateLabel(box.label, 22)} ${box.score.toFixed(2)}`;
        const pos = labelPosition([box.x, box.y, box.w, box.h], text, font, w, h);
        return (
          <g key={index} opacity={dim ? 0.3 : 1} data-testid="whatif-box" data-index={index} data-label={box.label} data-hover={hi ? "true" : undefined}>
            <rect
              x={box.x}
              y={box.y}
              width={box.w}
              height={box.h}
              fill={hi ? `${color}33` : "none"}
              stroke={color}
              strokeWidth={hi ? 3.5 : 2}
              vectorEffect="non-scaling-stroke"
              onMouseEnter={() => onHover(index)}
              onMouseLeave={() => onHover(null)}
            />
            {(hi || hover === null) && (
              <text x={pos.x} y={pos.y} fontSize={font} fontWeight={600} fill={color} paintOrder="stroke" stroke="#fff" strokeWidth={font / 4}>
                {text}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
