// A small ECharts wrapper: one instance per element, options replaced on change, resized with
// its box. Only the chart types Assay draws are registered, to keep the bundle lean.
import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";
import { BarChart, LineChart, ScatterChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  TitleComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  BarChart,
  LineChart,
  ScatterChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  TitleComponent,
  CanvasRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

export function Chart({ option, height = 300, testid }: { option: ChartOption; height?: number; testid?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, undefined, { renderer: "canvas" });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption({ animation: false, textStyle: { fontFamily: "inherit" }, ...option }, { notMerge: true });
  }, [option]);

  // The series drawn, by name, for tests and assistive tools (the canvas itself has no text).
  const series = (Array.isArray((option as { series?: unknown }).series) ? (option as { series: { name?: string }[] }).series : [])
    .map((s) => s.name)
    .filter(Boolean)
    .join("|");
  return <div ref={el} className="chart" style={{ height }} data-testid={testid} data-series={series} />;
}

export const palette = {
  primary: "#2f5bea",
  secondary: "#e8743b",
  green: "#1e9e63",
  red: "#d64545",
  orange: "#e8a33b",
  grey: "#8a94a6",
  grid: "#e6e9ef",
};

export const baseAxis = {
  axisLine: { lineStyle: { color: "#b8c0cc" } },
  splitLine: { lineStyle: { color: palette.grid } },
  axisLabel: { color: "#5b6575" },
  nameTextStyle: { color: "#5b6575" },
};
