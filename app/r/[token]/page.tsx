import { RoomView } from '../../_components/RoomView';

export default async function RoomPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  return <RoomView key={token} token={token} />;
}
