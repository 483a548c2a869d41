// A sortable, filterable, virtualized table (TanStack Table + TanStack Virtual): the per-class
// tables of the evaluation pages and the compare page's tables.
import { useMemo, useRef, useState, type ReactNode } from "react";
import {
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type RowData,
  type SortingState,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";

declare module "@tanstack/react-table" {
  // What a column says about itself: a numeric column is right-aligned; `help` is its header's title.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface ColumnMeta<TData extends RowData, TValue> {
    num?: boolean;
    help?: string;
  }
}

export interface DataTableProps<T> {
  data: T[];
  columns: ColumnDef<T, unknown>[];
  rowKey: (row: T) => string;
  filterPlaceholder?: string;
  testid?: string;
  height?: number;
  initialSort?: SortingState;
  toolbar?: ReactNode;
  busy?: boolean;
  rowTestid?: string;
  /** a row's class (e.g. "significant") */
  rowClassName?: (row: T) => string | undefined;
  /** show the filter box (default true) */
  filterable?: boolean;
  /** what an empty table says */
  emptyText?: string;
}

const ROW_H = 34;

export function DataTable<T>({
  data,
  columns,
  rowKey,
  filterPlaceholder = "Filter…",
  testid,
  height = 420,
  initialSort = [],
  toolbar,
  busy,
  rowTestid = "table-row",
  rowClassName,
  filterable = true,
  emptyText = "No row.",
}: DataTableProps<T>) {
  const [sorting, setSorting] = useState<SortingState>(initialSort);
  const [filter, setFilter] = useState("");
  const table = useReactTable({
    data,
    columns,
    state: { sorting, globalFilter: filter },
    onSortingChange: setSorting,
    onGlobalFilterChange: setFilter,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
    getRowId: (r) => rowKey(r),
    globalFilterFn: (row, _col, value: string) =>
      rowKey(row.original).toLowerCase().includes(String(value).toLowerCase()),
    sortDescFirst: true,
  });
  const rows = table.getRowModel().rows;
  const scroller = useRef<HTMLDivElement>(null);
  const virt = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_H,
    overscan: 12,
  });
  const items = virt.getVirtualItems();
  const padTop = items.length ? items[0].start : 0;
  const padBottom = items.length ? virt.getTotalSize() - items[items.length - 1].end : 0;
  const nCols = table.getVisibleLeafColumns().length;
  const shown = useMemo(() => rows.length, [rows]);

  return (
    <div className="datatable" data-testid={testid}>
      <div className="table-toolbar">
        {filterable && (
          <input
            className="search search-sm"
            type="search"
            placeholder={filterPlaceholder}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            data-testid={testid ? `${testid}-filter` : undefined}
          />
        )}
        <span className="muted small">
          {shown === data.length ? `${data.length} rows` : `${shown} of ${data.length} rows`}
        </span>
        {busy && <span className="spinner spinner-sm" aria-label="Updating" />}
        <div className="grow" />
        {toolbar}
      </div>
      <div className="table-scroll" ref={scroller} style={{ maxHeight: height }}>
        <table className="table table-dense">
          <thead>
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => {
                  const sorted = h.column.getIsSorted();
                  const meta = h.column.columnDef.meta;
                  return (
                    <th
                      key={h.id}
                      className={`${meta?.num ? "num" : ""} ${h.column.getCanSort() ? "sortable" : ""}`}
                      onClick={h.column.getToggleSortingHandler()}
                      title={meta?.help}
                      aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}
                    >
                      {flexRender(h.column.columnDef.header, h.getContext())}
                      <span className="sort-ind">{sorted === "asc" ? "▲" : sorted === "desc" ? "▼" : ""}</span>
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {padTop > 0 && (
              <tr style={{ height: padTop }}>
                <td colSpan={nCols} />
              </tr>
            )}
            {items.map((vi) => {
              const row = rows[vi.index];
              return (
                <tr key={row.id} className={rowClassName?.(row.original)} data-testid={rowTestid} data-label={row.id} style={{ height: ROW_H }}>
                  {row.getVisibleCells().map((cell) => {
                    const meta = cell.column.columnDef.meta;
                    return (
                      <td key={cell.id} className={meta?.num ? "num" : ""} data-col={cell.column.id}>
                        {flexRender(cell.column.columnDef.cell, cell.getContext())}
                      </td>
                    );
                  })}
                </tr>
              );
            })}
            {padBottom > 0 && (
              <tr style={{ height: padBottom }}>
                <td colSpan={nCols} />
              </tr>
            )}
            {rows.length === 0 && (
              <tr>
                <td colSpan={nCols} className="muted center">
                  {filter ? `No class matches “${filter}”.` : emptyText}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
