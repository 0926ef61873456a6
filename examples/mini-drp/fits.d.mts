// Types of fits.mjs for TypeScript callers (the tests); the .mjs is the source.
export declare const BLOCK: 2880;
export type CardValue = string | number | boolean | null;
export interface Card {
  key: string;
  value: CardValue;
  comment?: string;
}
export interface FitsImage {
  header: Card[];
  width: number;
  height: number;
  data: Float32Array;
  bitpix?: 16 | -32;
}
export interface FitsFile {
  header: Map<string, CardValue>;
  cards: Card[];
  width: number;
  height: number;
  bitpix: number;
  data: Float32Array;
}
export declare class FitsError extends Error {}
export declare function formatCard(card: Card): string;
export declare function encodeFits(image: FitsImage): Buffer;
export declare function writeFits(path: string, image: FitsImage): void;
export declare function decodeFits(buf: Buffer, name?: string): FitsFile;
export declare function readFits(path: string): FitsFile;
export declare function carriedCards(cards: Card[]): Card[];
