import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: 'StableDrag Studio',
  description: 'Drag points on an image, together, and watch StableDrag move the content step by step.',
};

export const viewport: Viewport = { themeColor: '#0f1115' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
