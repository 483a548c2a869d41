// Boxes over an image: the thumbnails of the feed and the image view draw the same overlay.
import type { Box } from "../api/client";
import { truncateLabel } from "../format";
import { boxColor, labelPosition } from "../lib/boxes";

export function BoxOverlay({
  boxes,
  width,
  height,
  thumbnail = false,
  show = { gt: true, pred: true },
  hover = null,
  related = () => false,
  onHover,
}: {
  boxes: Box[];
  width: number;
  height: number;
  thumbnail?: boolean;
  show?: { gt: boolean; pred: boolean };
  hover?: number | null;
  related?: (i: number) => boolean;
  onHover?: (i: number | null) => void;
}) {
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  // Labels about 12 screen px tall in the image view (the stage is ~540 px high).
  const font = Math.max(h, w * 0.75) / 45;
  return (
    <svg
      viewBox={`0 0 ${w} ${h}`}
      preserveAspectRatio={thumbnail ? "xMidYMid meet" : "none"}
      className={thumbnail ? "box-overlay box-overlay-thumb" : "box-overlay"}
      data-testid={thumbnail ? "thumb-boxes" : "box-overlay"}
      aria-hidden={thumbnail}
    >
      {boxes.map((b, i) => {
        if ((b.kind === "gt" && !show.gt) || (b.kind === "pred" && !show.pred)) return null;
        const [x, y, bw, bh] = b.bbox;
        const hi = related(i);
        const dim = hover !== null && !hi;
        const text = `${truncateLabel(b.label, 22)}${b.score != null ? ` ${b.score.toFixed(2)}` : ""}`;
        const pos = labelPosition(b.bbox, text, font, w, h);
        return (
          <g key={i} opacity={dim ? 0.25 : 1} data-testid={thumbnail ? undefined : "box"} data-kind={b.kind} data-status={b.status}>
            <rect
              x={x}
              y={y}
              width={bw}
              height={bh}
              fill={hi ? `${boxColor(b.status)}33` : "none"}
              stroke={boxColor(b.status)}
              strokeWidth={thumbnail ? 1.5 : hi ? 3.5 : 2}
              vectorEffect="non-scaling-stroke"
              strokeDasharray={b.kind === "gt" ? (thumbnail ? "3 2" : "6 3") : undefined}
              onMouseEnter={onHover ? () => onHover(i) : undefined}
              onMouseLeave={onHover ? () => onHover(null) : undefined}
            />
            {!thumbnail && (hi || (hover === null && b.kind === "pred")) && (
              <text x={pos.x} y={pos.y} fontSize={font} fontWeight={600} fill={boxColor(b.status)} paintOrder="stroke" stroke="#fff" strokeWidth={font / 4} data-testid="box-label">
                {text}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
