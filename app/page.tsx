import { CreateRoom } from './_components/CreateRoom';
import { PhotoRoom } from './_components/PhotoRoom';
import { RecentRooms } from './_components/RecentRooms';

export default function HomePage() {
  return (
    <div className="home">
      <header className="home-head">
        <div className="brand big">
          <span className="brand-mark">◆</span> StableDrag Studio
        </div>
        <p className="muted">Drag points on a generated image, together. Everyone in a room sees the points, the mask and every step live.</p>
      </header>
      <main className="home-main">
        <CreateRoom />
        <PhotoRoom />
        <RecentRooms />
      </main>
      <ol className="how">
        <li>
          <b>Place points.</b> Click a handle (red), then where it should go (blue). Everyone in the room sees them as you click.
        </li>
        <li>
          <b>Mask what may move.</b> Paint the flexible region; without a mask the whole image may change.
        </li>
        <li>
          <b>Drag together.</b> Start, and every step streams to all: the handles follow the content until they reach their targets.
        </li>
      </ol>
    </div>
  );
}
